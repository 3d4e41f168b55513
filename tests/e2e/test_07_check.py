"""`lienthong check`: a good config passes, and each broken one is named at FILE:LINE:COL.

The positions are computed from the YAML this test writes: a problem with a key points at the
key; a problem with a value points at the value (for a flow mapping, its `{`)."""

import copy
import re

import pytest

from harness import (free_port, gateway_config, locate, run_check, to_yaml)

SYNC_ROUTE = "dvcqg.dossier.sync"


@pytest.fixture
def good(pki, tmp_path):
    return gateway_config(pki, tmp_path, free_port(), free_port(), "https://127.0.0.1:9443/adapter")


def write(tmp_path, name, cfg):
    path = tmp_path / name
    text = to_yaml(cfg)
    path.write_text(text)
    return path, text


def unknown_key(cfg, tmp_path):
    cfg["routes"]["dvcqg.dossier.lookup"]["priority"] = 5
    return lambda text: locate(text, "priority: 5"), r"priority"


def wrong_type(cfg, tmp_path):
    cfg["gateway"]["limits"]["header_timeout"] = ["2s"]
    return (lambda text: value_at(text, "header_timeout: ")), r"(?i)header_timeout|duration|type|expected"


def missing_mapping(cfg, tmp_path):
    missing = str(tmp_path / "no-such-mapping.yaml")
    cfg["routes"]["dvcqg.dossier.progress"]["mapping"] = missing
    return (lambda text: value_at(text, "mapping: ", at=missing)), r"no-such-mapping\.yaml"


def unknown_upstream(cfg, tmp_path):
    cfg["routes"]["dvcqg.dossier.lookup"]["upstream"] = "nosuch"
    return (lambda text: value_at(text, "upstream: ", at="nosuch")), r"nosuch"


def duplicate_match(cfg, tmp_path):
    cfg["routes"]["dvcqg.dossier.copy"] = copy.deepcopy(cfg["routes"][SYNC_ROUTE])
    return ((lambda text: value_at(text, "match: ", after=text.index("dvcqg.dossier.copy:"))),
            r"dvcqg\.dossier\.sync\b|/v1/dvcqg/dossiers")


def value_at(text, prefix, after=0, at=""):
    """The position of the value written after `prefix` ("key: "), optionally the value `at`."""
    line, col = locate(text, prefix + at, after)
    return line, col + len(prefix)


@pytest.mark.parametrize("breaker", [unknown_key, wrong_type, missing_mapping, unknown_upstream,
                                     duplicate_match],
                         ids=lambda f: f.__name__)
def test_check_names_the_problem(good, tmp_path, breaker):
    cfg = copy.deepcopy(good)
    where, words = breaker(cfg, tmp_path)
    path, text = write(tmp_path, f"broken-{breaker.__name__}.yaml", cfg)
    line, col = where(text)

    status, out = run_check(path)
    assert status == 1, f"check exited {status}:\n" + "\n".join(out)
    prefix = f"{path}:{line}:{col}: "
    hits = [o for o in out if o.startswith(prefix)]
    assert hits, f"no line starting {prefix!r}; check printed:\n" + "\n".join(out) + f"\n--- {path}:\n{text}"
    assert any(re.search(words, h[len(prefix):]) for h in hits), f"{hits} does not name the problem ({words})"
    located = [o for o in out if re.match(re.escape(str(path)) + r":\d+:\d+: ", o)]
    assert located, "check printed no FILE:LINE:COL line"


def test_check_passes_a_good_config(good, tmp_path):
    path, _ = write(tmp_path, "good.yaml", good)
    status, out = run_check(path)
    assert status == 0, f"check exited {status} on a good config:\n" + "\n".join(out)
