"""Builds the one C extension, translator.rules._prcscreen (the PRC rule screen; see translator/rules/prc.py).

Everything else is in pyproject.toml. The extension reads lxml's tree through lxml's public C structs and
the libxml2 headers lxml ships, so it needs lxml at build time (pyproject's build-system requires it). It is
optional: without a C compiler the install still succeeds and the rules run in Python, only slower.
"""
import lxml
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "translator.rules._prcscreen",
    sources=["translator/rules/_prcscreen.c"],
    include_dirs=lxml.get_include(),
    optional=True,
)])
