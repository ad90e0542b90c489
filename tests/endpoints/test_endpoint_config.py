"""EndpointConfig from [endpoints.<id>] tables: good tables load, every mistake is refused at load naming the key."""
import pytest

from routing.endpoints import EndpointConfig, EndpointConfigError, load_endpoints


def test_tables_load_with_defaults():
    cfgs = load_endpoints({
        "vnaccs-demo": {"kind": "soap", "url": "http://127.0.0.1:8090/vnaccs", "soap_version": 1.2,
                        "soap_action": "urn:x#Submit", "timeout": 3, "family": "vnaccs"},
        "prc-http": {"kind": "http", "url": "https://swapp.singlewindow.cn/dec"},
        "drop": {"kind": "directory", "path": "var/outbox"},
    })
    v = cfgs["vnaccs-demo"]
    assert (v.id, v.kind, v.soap_version, v.soap_action, v.timeout, v.family) == \
        ("vnaccs-demo", "soap", "1.2", "urn:x#Submit", 3.0, "vnaccs")
    assert cfgs["prc-http"].soap_version == "1.1" and cfgs["prc-http"].timeout == 10.0
    assert cfgs["drop"].path == "var/outbox"


def test_header_values_from_environment():
    cfg = EndpointConfig.from_dict("e", {"kind": "http", "url": "http://127.0.0.1:1/x",
                                         "headers": {"Authorization": "env:EP_TOKEN", "X-Plain": "a"}},
                                   environ={"EP_TOKEN": "Bearer s3cret"})
    assert dict(cfg.headers) == {"Authorization": "Bearer s3cret", "X-Plain": "a"}


@pytest.mark.parametrize("table, key", [
    ({"kind": "ftp", "url": "http://x"}, "kind"),
    ({"url": "http://x"}, "kind"),
    ({"kind": "soap"}, "url"),
    ({"kind": "http", "url": "file:///etc/passwd"}, "url"),
    ({"kind": "directory"}, "path"),
    ({"kind": "soap", "url": "http://x", "soap_version": "1.3"}, "soap_version"),
    ({"kind": "soap", "url": "http://x", "timeout": "soon"}, "timeout"),
    ({"kind": "soap", "url": "http://x", "timeout": 0}, "timeout"),
    ({"kind": "soap", "url": "http://x", "transport": "zeep"}, "wsdl"),
    ({"kind": "http", "url": "http://x", "transport": "zeep", "wsdl": "w", "operation": "o"}, "transport"),
    ({"kind": "soap", "url": "http://x", "colour": "red"}, "colour"),
    ({"kind": "soap", "url": "http://x", "family": "eu"}, "family"),
    ({"kind": "http", "url": "http://x", "headers": {"A": "env:NOPE_NOT_SET"}}, "headers"),
])
def test_bad_tables_are_refused_naming_the_key(table, key):
    with pytest.raises(EndpointConfigError) as e:
        EndpointConfig.from_dict("ep1", table, environ={})
    assert e.value.key == key and e.value.endpoint_id == "ep1"
    assert f"[endpoints.ep1] {key}" in str(e.value)


@pytest.mark.parametrize("headers", [
    {"X-Token": "a\r\nX-Injected: 1"},
    {"X-Token": "line\nbreak"},
    {"X-Token": "nul\x00"},
    {"Bad Name": "v"},
    {"X-Env": "env:EP_VALUE"},
])
def test_header_injection_refused_at_load(headers):
    with pytest.raises(EndpointConfigError, match="headers"):
        EndpointConfig.from_dict("e", {"kind": "http", "url": "http://127.0.0.1:1/x", "headers": headers},
                                 environ={"EP_VALUE": "from\r\nenv"})
