"""Start-up warnings of the processing stage (routing.runtime.build_pipeline) about the C rule screen."""
from __future__ import annotations

import pytest

from hubkit import ENV, config_text
from routing.config import load_config
from routing.runtime import build_pipeline
from translator.validate import Validator


def _screen_warnings(tmp_path, pki, endpoints, validator=None):
    cfg = load_config(tmp_path, text=config_text(tmp_path, pki, endpoints), env=ENV)
    _, _, warnings, _ = build_pipeline(cfg, validator=validator)
    return [w for w in warnings if "rule screen" in w]


def test_a_missing_rule_screen_is_a_start_up_warning(tmp_path, pki, endpoints):
    found = _screen_warnings(tmp_path, pki, endpoints, Validator(accelerate=False))
    assert found and found[0].startswith("prc:DecMessage: the C rule screen is not built")


def test_no_warning_when_the_screen_is_there(tmp_path, pki, endpoints):
    if "prc:DecMessage" not in Validator().screens:
        pytest.skip("the C rule screen is not built on this machine")
    assert _screen_warnings(tmp_path, pki, endpoints) == []
