"""The operator's model list as read from the environment, and which specs clients may see."""
from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.media.services.models_allowed import spec_is_public
from videosearch.model_list import parse_embedders

DEFAULT = "open_clip:xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k"


def test_the_default_list_holds_the_server_default_and_the_test_model():
    assert parse_embedders("", DEFAULT) == {"default": DEFAULT, "testmodel": "testmodel"}


@pytest.mark.parametrize("raw", [
    "clip=open_clip:ViT-B-32/openai, mine = open_clip:ViT-B-32@/srv/ab.pt",
    '{"clip": "open_clip:ViT-B-32/openai", "mine": "open_clip:ViT-B-32@/srv/ab.pt"}',
])
def test_pairs_or_json_add_names_in_order(raw):
    assert parse_embedders(raw, DEFAULT) == {"default": DEFAULT, "testmodel": "testmodel",
                                             "clip": "open_clip:ViT-B-32/openai", "mine": "open_clip:ViT-B-32@/srv/ab.pt"}


def test_restating_a_built_in_name_is_allowed():
    assert parse_embedders(f"default={DEFAULT},testmodel=testmodel", DEFAULT) == parse_embedders("", DEFAULT)


@pytest.mark.parametrize("raw", [
    "clip", "=testmodel", "clip=", "a b=testmodel", "-x=testmodel", "x/y=testmodel", "x" * 65 + "=testmodel",
    "default=testmodel", "testmodel=onnx:testmodel", "{not json", '{"a": 1}',
])
def test_a_bad_list_stops_the_server_with_a_reason(raw):
    with pytest.raises(ImproperlyConfigured, match="VIDEOSEARCH_EMBEDDERS"):
        parse_embedders(raw, DEFAULT)


@pytest.mark.parametrize(("spec", "public"), [
    (DEFAULT, True), ("open_clip:ViT-B-32/openai", True), ("testmodel", True), ("onnx:testmodel", True),
    ("ruclip:ruclip-vit-base-patch32-384", True),
    ("open_clip:ViT-B-32@/srv/x.pt", False), ("open_clip:ViT-B-32@sha256:abc", False), ("onnx:/srv/export", False),
    ("onnx:relative/export", False), ("ruclip:/srv/ruclip", False), ("ruclip:models/ruclip", False),
    ("open_clip:./x/y", False), ("open_clip:~/x", False),
])
def test_specs_naming_server_files_are_not_shown(spec, public):
    assert spec_is_public(spec) is public
