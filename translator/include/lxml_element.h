/* lxml's _Element object as C sees it: struct LxmlElement of lxml.etree.h, part of lxml's public C API.
 * Shared by edihub's C extensions, which read the libxml2 tree lxml holds and never change it. */
#ifndef EDIHUB_LXML_ELEMENT_H
#define EDIHUB_LXML_ELEMENT_H
#include <Python.h>
#include <libxml/tree.h>
#include "lxml-version.h"

typedef struct {
    PyObject_HEAD
    void *_doc;
    xmlNode *_c_node;
    PyObject *_tag;
} LxmlElement;

/* lxml.etree._Element, for PyObject_TypeCheck, called once at import. NULL with ImportError set when it cannot
 * be had or when the installed lxml is not the one this extension was built against (its structs are read
 * directly), so the Python side falls back to its own code on ImportError alone. */
static PyTypeObject *lxml_element_type(void) {
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) return NULL;
    PyObject *version = PyObject_GetAttrString(etree, "__version__");
    PyObject *type = version == NULL ? NULL : PyObject_GetAttrString(etree, "_Element");
    Py_DECREF(etree);
    if (type != NULL && (!PyUnicode_Check(version) ||
                         PyUnicode_CompareWithASCIIString(version, LXML_VERSION_STRING) != 0)) {
        Py_CLEAR(type);
        PyErr_Format(PyExc_ImportError, "built for lxml %s, but lxml %S is installed; rebuild (pip install -e .)",
                     LXML_VERSION_STRING, version);
    }
    Py_XDECREF(version);
    if (type != NULL && !PyType_Check(type)) {
        Py_CLEAR(type);
        PyErr_SetString(PyExc_ImportError, "lxml.etree._Element is not a type");
    }
    return (PyTypeObject *)type;
}

#endif
