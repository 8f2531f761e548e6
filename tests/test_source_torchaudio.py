"""The torchaudio source against the installed torchaudio (its real pipeline bundles, read offline
through indexer/torchcompat.py's shim where its compiled library does not load with this torch)."""

from __future__ import annotations

import json
import sqlite3
import sys

import pytest

from indexer.errors import SkipRecord
from indexer.sources.torchaudio import TASKS, _import_pipelines, bundle_kind, normalize_torchaudio

torchaudio, pipelines = _import_pipelines()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, session_cache):
    from conftest import one_source_catalog

    return one_source_catalog(tmp_path_factory, session_cache, "torchaudio")


@pytest.fixture(scope="module")
def conn(catalog):
    c = sqlite3.connect(catalog)
    c.row_factory = sqlite3.Row
    return c


def datasets(conn, mid):
    return [tuple(r) for r in conn.execute("SELECT dataset_id, role FROM model_datasets WHERE model_id = ? "
                                           "ORDER BY role, dataset_id", (mid,))]


def test_the_shim_lets_torchaudio_import_and_does_nothing_where_the_library_loads():
    """Imported above with this torch; _load_lib answers (True where the library loads, False
    where it is there but built for another torch, as for a build without it) and never raises."""
    from indexer.torchcompat import torchaudio_ops_available

    utils = sys.modules["torchaudio._extension.utils"]
    loaded = utils._load_lib("_torchaudio")
    assert isinstance(loaded, bool) and loaded == torchaudio_ops_available()
    assert utils._load_lib("no_such_library") is False  # torchaudio's own answer for a missing one
    assert pipelines.WAV2VEC2_BASE.sample_rate == 16000  # the pure-Python pipelines work either way


def test_every_bundle_is_a_row(conn):
    names = {n for n in dir(pipelines) if n.isupper() and bundle_kind(getattr(pipelines, n)) in TASKS}
    rows = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM models WHERE source = 'torchaudio'")}
    assert len(names) >= 35 and set(rows) == {f"torchaudio:{n}" for n in names}
    for mid, row in rows.items():
        bundle = getattr(pipelines, mid.split(":", 1)[1])
        assert row["task"] == TASKS[bundle_kind(bundle)] and row["library"] == "torchaudio"
        assert json.loads(row["extra"])["load"] == f"torchaudio.pipelines.{row['name']}.get_model()"
        assert row["num_params"] and row["size_bytes"] == 4 * row["num_params"]
        # the wav2vec 2.0 family loads (its encoder, a new head); the pipelines say what loads them
        encoder = bundle_kind(bundle).startswith("Wav2Vec2")
        assert (row["loadable"], row["load_backend"]) == ((1, "torchaudio") if encoder else (0, None)), mid
        assert encoder or "use the torchaudio bundle itself" in row["load_note"]
        assert conn.execute("SELECT count(*) FROM model_files WHERE model_id = ? AND url LIKE 'https://%'",
                            (mid,)).fetchone()[0] >= 1


def test_known_bundles_carry_their_data_license_and_size(conn):
    row = lambda n: dict(conn.execute("SELECT * FROM models WHERE id = ?", (f"torchaudio:{n}",)).fetchone())  # noqa: E731
    base = row("WAV2VEC2_BASE")
    # wav2vec 2.0 base: 94,370,944 parameters (the fairseq checkpoint's), MIT as its documentation says
    assert base["num_params"] == 94_370_944 and base["task"] == "feature-extraction"
    assert (base["license"], base["license_family"], base["license_raw"]) == ("mit", "permissive", "MIT License")
    assert json.loads(base["extra"])["sample_rate"] == 16000
    assert datasets(conn, base["id"]) == [("librispeech", "train")]
    assert conn.execute("SELECT url FROM model_files WHERE model_id = ?", (base["id"],)).fetchone()[0] == \
        "https://download.pytorch.org/torchaudio/models/wav2vec2_fairseq_base_ls960.pth"
    # pre-trained on Libri-Light, fine-tuned on LibriSpeech
    assert datasets(conn, "torchaudio:WAV2VEC2_ASR_LARGE_LV60K_960H") == [("librispeech", "finetune"),
                                                                           ("libri-light", "pretrain")]
    assert row("WAV2VEC2_ASR_LARGE_LV60K_960H")["task"] == "automatic-speech-recognition"
    # names cited without emphasis count too
    assert datasets(conn, "torchaudio:WAVLM_BASE_PLUS") == [("gigaspeech", "train"), ("libri-light", "train"),
                                                            ("voxpopuli", "train")]
    # VoxPopuli's and MMS's weights are non-commercial
    for name in ("VOXPOPULI_ASR_BASE_10K_DE", "MMS_FA"):
        assert (row(name)["license"], row(name)["license_family"]) == ("cc-by-nc-4.0", "non-commercial"), name
    # no license in the documentation: unknown, never guessed
    tts = row("TACOTRON2_WAVERNN_CHAR_LJSPEECH")
    assert tts["license"] == "unknown" and "names no license" in json.loads(tts["extra"])["license_note"]
    assert tts["task"] == "text-to-speech" and datasets(conn, tts["id"]) == [("ljspeech", "train")]
    assert conn.execute("SELECT count(*) FROM model_files WHERE model_id = ?", (tts["id"],)).fetchone()[0] == 2
    assert row("HDEMUCS_HIGH_MUSDB_PLUS")["task"] == "audio-to-audio"
    assert row("SQUIM_OBJECTIVE")["task"] is None and row("SQUIM_OBJECTIVE")["license"] == "cc-by-4.0"


@pytest.mark.parametrize("raw, why", [
    ({}, "not a torchaudio pipeline bundle"),
    ({"name": "WAV2VEC2_BASE", "kind": "SomethingElse"}, "not a torchaudio pipeline bundle"),
    ({"name": "wav2vec2\x1b[2J", "kind": "Wav2Vec2Bundle"}, "not a valid torchaudio bundle name"),
])
def test_records_that_are_not_a_bundle_are_skipped(raw, why):
    with pytest.raises(SkipRecord, match=why):
        normalize_torchaudio(raw)


def test_hostile_paths_and_documentation_are_dropped_not_stored():
    rec = normalize_torchaudio({"name": "WAV2VEC2_BASE", "kind": "Wav2Vec2Bundle", "sample_rate": -5,
                                "paths": {"path": "javascript:alert(1)", "model_path": ["x"]},
                                "doc": "<script>alert(1)</script> under <b>Evil</b>", "parameters": {"total": "9"}})
    assert rec.files == [] and "weights_url" not in rec.extra  # not a file name under torchaudio's folder
    assert "sample_rate" not in rec.extra and rec.num_params is None and rec.license == "unknown"
