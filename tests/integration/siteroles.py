"""The instance roles, read from the committed production nginx site: one upstream per
role, in `TransformRole.all` order. A unit test holds that file equal to what the code
renders from `OperationCatalog`, so this list cannot drift from the code."""

import re
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "nginx" / "progimage.conf"


def roles(site: Path = SITE) -> list[str]:
    found = re.findall(r"^upstream progimage_(\w+) \{", site.read_text(), re.M)
    assert found, f"no upstreams in {site}"
    return found
