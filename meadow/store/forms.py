from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from meadow.core.widgets import FilePicker
from meadow.store.models import Product


class ShopForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=80)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    shipping_policy = forms.CharField(
        label=_("Shipping policy"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where you ship, how fast, and what it costs."),
    )
    returns_policy = forms.CharField(
        label=_("Returns policy"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How many days, who pays return shipping, what cannot be returned."),
    )
    logo = forms.FileField(label=_("Logo"), required=False, widget=FilePicker(attrs={"accept": "image/*"}))


class ProductForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 6})
    )
    status = forms.ChoiceField(label=_("Status"), choices=Product.Status.choices)
