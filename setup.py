"""Builds edihub's two small C extensions; everything else is in pyproject.toml.

- translator.rules._prcscreen: the PRC rule screen (see translator/rules/prc.py, docs/formats/prc.md);
- translator._depth: the hardened parser's depth check (see translator/parsing.py).

They read lxml's tree through lxml's public C structs and the libxml2 headers lxml ships, so they need lxml at
build time (pyproject's build-system requires it). Both are optional: without a C compiler the install still
succeeds and the same checks run in Python, only slower.
"""
import lxml
from setuptools import Extension, setup

INCLUDE = ["translator/include", *lxml.get_include()]

setup(ext_modules=[
    Extension("translator.rules._prcscreen", sources=["translator/rules/_prcscreen.c"], include_dirs=INCLUDE,
              depends=["translator/include/lxml_element.h"], optional=True),
    Extension("translator._depth", sources=["translator/_depth.c"], include_dirs=INCLUDE,
              depends=["translator/include/lxml_element.h"], optional=True),
])
