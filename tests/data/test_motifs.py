import numpy as np
import pytest

from xai_widgets.data import (
    Motif,
    bundled_motifs,
    get_motif,
    jaspar_motif,
    jaspar_motifs,
    read_meme,
    write_meme,
)
from xai_widgets.data.tasks import (
    ATTRIBUTION_CORE,
    GRAMMAR_MOTIFS,
    MOTIF_PRESENCE_TFS,
    N_ATTRIBUTION_OTHERS,
)


def test_bundled_set_holds_every_planted_motif():
    bundled = bundled_motifs()
    for name in MOTIF_PRESENCE_TFS + ATTRIBUTION_CORE + GRAMMAR_MOTIFS:
        assert name in bundled
    assert len(bundled) == len(MOTIF_PRESENCE_TFS) + len(GRAMMAR_MOTIFS) + N_ATTRIBUTION_OTHERS
    for m in bundled.values():
        assert np.allclose(m.probabilities.sum(0), 1)
        assert m.matrix_id.startswith("MA")


def test_bundled_matrices_equal_jaspar():
    for name in ("CEBPB", "MAX", "Spi1"):
        bundled = bundled_motifs()[name]
        fresh = jaspar_motif(bundled.matrix_id)
        assert fresh.name == bundled.name
        np.testing.assert_allclose(fresh.probabilities, bundled.probabilities, atol=1e-6)


def test_get_motif_by_name_id_and_jaspar_fallback():
    assert get_motif("cebpb").matrix_id == "MA0466.4"
    assert get_motif("MA0466.4").name == "CEBPB"
    ctcf_like = get_motif("FOXA1")  # not bundled: comes from JASPAR through pyjaspar
    assert ctcf_like.name == "FOXA1" and ctcf_like.width >= 6
    with pytest.raises(KeyError, match="no motif named"):
        get_motif("NOT_A_TF")


def test_jaspar_collection():
    motifs = jaspar_motifs()
    assert len(motifs) > 500
    names = {m.name for m in motifs}
    assert {"CEBPB", "CTCF", "SP1"} <= names
    assert all(m.meta["tax_group"] == "vertebrates" and m.meta["collection"] == "CORE" for m in motifs[:20])


def test_meme_round_trip(tmp_path):
    motifs = {k: bundled_motifs()[k] for k in ("SP1", "Yy1")}
    path = tmp_path / "m.meme"
    write_meme(motifs, path)
    back = read_meme(path)
    assert list(back) == ["SP1", "Yy1"]
    for k in motifs:
        np.testing.assert_allclose(back[k].probabilities, motifs[k].probabilities, atol=1e-6)
        assert back[k].matrix_id == motifs[k].matrix_id


def test_motif_properties():
    m = Motif.from_consensus("toy", "ACGT")
    assert m.consensus == "ACGT" and m.width == 4
    np.testing.assert_allclose(m.information_content(), [2, 2, 2, 2])
    assert m.reverse_complement().consensus == "ACGT"
    assert Motif.from_consensus("x", "AACG").reverse_complement().consensus == "CGTT"
    uniform = Motif("u", np.ones((4, 3)))
    np.testing.assert_allclose(uniform.information_content(), 0, atol=1e-12)
    assert get_motif("CEBPB").log_odds().shape == (4, 10)


def test_sampling_follows_the_matrix():
    m = Motif("half", np.array([[0.5, 1.0], [0.5, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    sites = m.sample(20_000, random_state=0)
    assert sites.shape == (20_000, 2)
    assert set(np.unique(sites[:, 0])) == {0, 1} and abs((sites[:, 0] == 0).mean() - 0.5) < 0.02
    assert (sites[:, 1] == 0).all()


def test_invalid_motifs_raise():
    with pytest.raises(ValueError, match=r"shape \(4, W\)"):
        Motif("bad", np.ones((3, 5)))
    with pytest.raises(ValueError, match="negative"):
        Motif("bad", -np.ones((4, 2)))
    with pytest.raises(ValueError, match="MOTIF"):
        read_meme("not a meme file at all MOTIF-less")
