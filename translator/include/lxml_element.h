/* lxml's _Element object as C sees it: struct LxmlElement of lxml.etree.h, part of lxml's public C API.
 * Shared by edihub's C extensions, which read the libxml2 tree lxml holds and never change it. */
#ifndef EDIHUB_LXML_ELEMENT_H
#define EDIHUB_LXML_ELEMENT_H
#include <Python.h>
#include <libxml/tree.h>

typedef struct {
    PyObject_HEAD
    void *_doc;
    xmlNode *_c_node;
    PyObject *_tag;
} LxmlElement;

/* lxml.etree._Element, for PyObject_TypeCheck; NULL with ImportError set on failure. Called once at import. */
static PyTypeObject *lxml_element_type(void) {
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) return NULL;
    PyObject *type = PyObject_GetAttrString(etree, "_Element");
    Py_DECREF(etree);
    if (type != NULL && !PyType_Check(type)) {
        Py_CLEAR(type);
        PyErr_SetString(PyExc_ImportError, "lxml.etree._Element is not a type");
    }
    return (PyTypeObject *)type;
}

#endif
