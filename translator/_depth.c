/* translator._depth.deeper_than(element, limit) -> bool: does an element lie more than `limit` levels deep,
 * counting `element` as level 1? The hardened parser's depth limit (translator/parsing.py), as one walk over the
 * libxml2 tree instead of an XPath of limit + 1 steps. Optional: parsing.py falls back to the XPath without it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <libxml/tree.h>
#include "lxml_element.h"

static PyTypeObject *ElementType = NULL;

static const xmlNode *element_from(const xmlNode *n) {
    while (n != NULL && n->type != XML_ELEMENT_NODE) n = n->next;
    return n;
}

static PyObject *deeper_than(PyObject *module, PyObject *args) {
    PyObject *obj;
    long limit;
    (void)module;
    if (!PyArg_ParseTuple(args, "Ol:deeper_than", &obj, &limit)) return NULL;
    if (!PyObject_TypeCheck(obj, ElementType)) {
        PyErr_SetString(PyExc_TypeError, "deeper_than takes an lxml element");
        return NULL;
    }
    const xmlNode *root = ((LxmlElement *)obj)->_c_node, *n = root;
    long depth = 1;
    if (root == NULL || depth > limit) return PyBool_FromLong(root != NULL);
    for (;;) {
        const xmlNode *c = element_from(n->children);
        if (c != NULL) {                          /* down */
            n = c;
            if (++depth > limit) Py_RETURN_TRUE;
            continue;
        }
        while (n != root) {                       /* across, or up until there is a next sibling */
            const xmlNode *s = element_from(n->next);
            if (s != NULL) { n = s; break; }
            n = n->parent;
            depth--;
        }
        if (n == root) Py_RETURN_FALSE;
    }
}

static PyMethodDef methods[] = {
    {"deeper_than", deeper_than, METH_VARARGS,
     "deeper_than(element, limit) -> True when an element lies more than limit levels deep (element = level 1)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_depth", "The hardened parser's depth check in C (see translator/parsing.py).", -1,
    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__depth(void) {
    ElementType = lxml_element_type();
    if (ElementType == NULL) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    return m;
}
