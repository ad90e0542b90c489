"""Where edihub's data lives: schemas, mapping tables and samples.

The data folders sit at the top of the repository (edihub is installed editable, see the README).
EDIHUB_HOME points elsewhere, e.g. to a folder holding an authority's official XSDs.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("EDIHUB_HOME") or Path(__file__).resolve().parent.parent)
XSD_DIR = ROOT / "xsd"
MAPPINGS_DIR = ROOT / "mappings"
CODES_DIR = MAPPINGS_DIR / "codes"
SAMPLES_DIR = ROOT / "samples"
