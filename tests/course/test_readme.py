"""The README's code blocks run as shown (the quick paths a new user copies)."""

import re

import pytest

from tests.helpers import REPO

README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def _block(marker: str) -> str:
    matching = [block for block in BLOCKS if marker in block]
    assert len(matching) == 1, f"expected one README block with {marker!r}"
    return matching[0]


@pytest.mark.parametrize("marker", ["class Mine(nn.Module)", "data.read_vcf(example.vcf)"])
def test_readme_block_runs(marker, capsys):
    namespace: dict = {}
    exec(compile(_block(marker), f"README:{marker}", "exec"), namespace)  # noqa: S102 - our own README
    out = capsys.readouterr().out
    assert "Traceback" not in out
    if "Mine" in marker:
        assert namespace["ism"].delta.shape == (2, 4, 200)
        assert namespace["methods"].capabilities(namespace["model"])["deep_lift_shap"].startswith("no:")
    else:
        table = namespace["scores"].table
        assert len(table) == len(namespace["variants"].table) and "delta_counts" in table
