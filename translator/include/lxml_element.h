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

#endif
