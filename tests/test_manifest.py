from __future__ import annotations

import hashlib

import pytest

from stylize import Settings, StylizeError
from stylize.manifest import load_manifest


def test_manifest_pins_every_shared_file(manifest, shared):
    """Every model, style and photo in ../shared is listed with its true size and sha256."""
    listed = {a.key: a for a in manifest.assets}
    on_disk = [p for folder in ("models", "styles", "photos") for p in sorted((shared / folder).iterdir())]
    assert len([p for p in on_disk if p.parent.name == "models"]) == 11
    assert len([p for p in on_disk if p.parent.name == "styles"]) == 26
    for path in on_disk:
        asset = listed[f"{path.parent.name}/{path.name}"]
        assert asset.bytes == path.stat().st_size
        assert asset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_roles_and_names(manifest):
    assert {a.name for a in manifest.by_role("transfer") if a.required} == {"int8", "fp16", "dynamic"}
    derived = {a.name: a for a in manifest.by_role("transfer") if a.derived_from}
    assert set(derived) == {
        "fp32", "dynamic-aeq", "fp16-aeq", "int8-full",  # ai-edge-quantizer
        "dynamic-tf", "fp16-tf", "int8-tf", "int8io-tf", "int8-floatnorm-tf",  # TensorFlow's TFLiteConverter
    }, "made by python -m stylize convert, optional"
    assert all(a.recipe.startswith("TFLiteConverter: ") for name, a in derived.items() if name.endswith("-tf"))
    assert all(not a.required and a.derived_from == "fp16" and a.key.startswith("models/derived/") for a in derived.values())
    assert {a.name for a in manifest.by_role("segment")} == {"selfie", "selfie-landscape", "deeplabv3", "deeplabv3-gpu", "segm-lite"}
    assert {a.name: a.mask_output for a in manifest.by_role("segment")}["selfie"] == "probability"
    assert {a.name for a in manifest.by_role("face")} == {"face-short", "face-full"}
    styles = manifest.by_role("style")
    assert len(styles) == 26 and len({s.title for s in styles}) == 26
    assert manifest.get("style", "starry night").key == "styles/style19.jpg"
    assert manifest.get("style", "style24").title == "The Great Wave"
    assert manifest.predict.precision == "int8"


def test_fp16_predict_is_listed_but_optional(manifest):
    fp16 = manifest.get("predict", "predict-fp16")
    assert fp16.url and not fp16.required
    assert fp16 not in manifest.required()


def test_unknown_names_say_what_to_do(manifest):
    with pytest.raises(StylizeError, match="python -m stylize styles"):
        manifest.get("style", "Mona Lisa")
    with pytest.raises(StylizeError, match="int8, fp16, dynamic"):
        manifest.get("transfer", "int4")


def test_broken_manifest_is_one_clear_error(tmp_path):
    bad = tmp_path / "manifest.toml"
    bad.write_text("[[asset]\nkey=", encoding="utf-8")
    with pytest.raises(StylizeError, match="not valid TOML"):
        load_manifest(bad)
    with pytest.raises(StylizeError, match="does not exist"):
        load_manifest(tmp_path / "missing.toml")


def test_settings_from_environment(tmp_path):
    s = Settings.from_env({"STYLIZE_MODEL_STORE": "s3://b/p", "STYLIZE_CACHE_DIR": str(tmp_path), "STYLIZE_THREADS": "3"})
    assert (s.model_store, s.cache_dir, s.threads) == ("s3://b/p", tmp_path, 3)
    assert Settings.from_env({}).model_store == "public"
    with pytest.raises(StylizeError, match="STYLIZE_THREADS"):
        Settings.from_env({"STYLIZE_THREADS": "many"})
