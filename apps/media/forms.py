"""Forms of the collection pages."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from .models import Collection
from .services.models_allowed import DEFAULT_NAME, allowed_models, model_label, unknown_model_message


def model_choices() -> list[tuple[str, str]]:
    """The operator's models as select options; blank is the default. Labels show no server paths."""
    def label(name: str) -> str:
        shown = model_label(name)
        return name if shown == name else f"{name}: {shown}"

    return [("", label(DEFAULT_NAME))] + [(name, label(name)) for name in allowed_models() if name != DEFAULT_NAME]


class ModelSelectMixin:
    """The ``embedder`` field as a select of model names, read from settings when the form is made."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "embedder" in self.fields:
            self.fields["embedder"] = forms.ChoiceField(
                choices=model_choices(), required=False, label=gettext_lazy("Model"),
                error_messages={"invalid_choice": unknown_model_message()},
            )


class CollectionForm(ModelSelectMixin, forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["name", "description", "embedder", "public"]


class CollectionAdminForm(ModelSelectMixin, forms.ModelForm):
    class Meta:
        model = Collection
        fields = "__all__"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        return [single(d, initial) for d in data] if isinstance(data, (list, tuple)) else [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(label=gettext_lazy("Videos or photos"),
                              widget=MultipleFileInput(attrs={"multiple": True, "accept": "video/*,image/*"}))
