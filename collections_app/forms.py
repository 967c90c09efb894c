"""Forms for collections, their items, sharing and the card page's "Add to collection".

Prices are typed in dollars and stored in cents. Every error names its field, so the
message still reads right when shown away from it (an inline row, the card page).
"""

import datetime as dt
import functools
from decimal import Decimal

from django import forms
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from cards.models import Card
from collections_app.importing import EARLIEST_PURCHASE, MAX_PURCHASE_CENTS, NOTES_MAX_LENGTH
from collections_app.models import Collection, CollectionItem

CENT = Decimal("0.01")
MAX_PRICE = Decimal(MAX_PURCHASE_CENTS) / 100  # $10M: far above any card
MAX_QUANTITY = 100_000
GRADES = [Decimal(n) / 2 for n in range(20, 1, -1)]  # 10, 9.5, ... 1
FIRST_COLLECTION_NAME = "My collection"


class CollectionForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["name", "basis_source", "basis_key"]
        labels = {"name": "Name"}

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["basis_source"].choices = [
            ("", "Best available source"),
            *[c for c in self.fields["basis_source"].choices if c[0]],
        ]
        self.fields["name"].widget.attrs.update({"autocomplete": "off", "maxlength": 100})
        self.fields["name"].error_messages["required"] = "Name: give the collection a name."

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Name: give the collection a name.")
        # The uniqueness constraint names the user, who is not a form field, so the
        # model form would not check it: a clash would be an IntegrityError instead.
        taken = Collection.objects.filter(user=self.user, name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_name_taken(name))
        return name

    def save(self, commit=True) -> Collection | None:
        """The saved collection; None, with the name's error added, when another request
        (a double click on "Create") took the name between clean_name() and here."""
        collection = super().save(commit=False)
        collection.user = self.user
        if commit:
            try:
                with transaction.atomic():
                    collection.save()
            except IntegrityError:
                clash = Collection.objects.filter(user=self.user, name=collection.name)
                if collection.pk:
                    clash = clash.exclude(pk=collection.pk)
                if not clash.exists():
                    raise
                self.add_error("name", _name_taken(collection.name))
                return None
        return collection


def _name_taken(name: str) -> str:
    return f"Name: you already have a collection called “{name}”."


class ShareOptionsForm(forms.ModelForm):
    """What the shared page shows. The name is the account's own (first name field), so
    every shared collection of the owner shows the same one."""

    owner_name = forms.CharField(
        label="Name to show",
        max_length=150,
        required=False,
        help_text="Blank: “A collector”.",
        error_messages={
            "max_length": "Name to show: at most 150 characters.",
            "null_characters_not_allowed": "Name to show: remove the control characters.",
        },
    )

    class Meta:
        model = Collection
        fields = ["share_purchase_prices", "share_owner_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_name"].initial = self.instance.user.get_full_name()

    def save(self, commit=True):
        collection = super().save(commit)
        name = self.cleaned_data.get("owner_name", "").strip()
        user = collection.user
        # Only when the form had the field: a post without it leaves the name alone.
        if commit and "owner_name" in self.data and name != user.get_full_name():
            user.first_name, user.last_name = name, ""
            user.save(update_fields=["first_name", "last_name"])
        return collection


class ItemForm(forms.ModelForm):
    """One lot: quantity, a condition or a grader and grade, what was paid and when."""

    condition = forms.ChoiceField(
        label="Condition",
        required=False,
        choices=[*CollectionItem.Condition.choices, ("", "Graded (choose the grade)")],
        initial=CollectionItem.Condition.NM,
    )
    grader = forms.ChoiceField(
        label="Grader",
        required=False,
        choices=[("", "—"), *CollectionItem.Grader.choices],
    )
    grade = forms.TypedChoiceField(
        label="Grade",
        required=False,
        coerce=Decimal,
        empty_value=None,
        choices=[("", "—"), *[(format(g.normalize(), "f"),) * 2 for g in GRADES]],
    )
    purchase_price = forms.DecimalField(
        label="Paid per copy ($)",
        required=False,
        decimal_places=2,
        max_digits=12,
        min_value=Decimal(0),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
        error_messages={
            "invalid": "Paid per copy: enter an amount in dollars, e.g. 12.50.",
            "min_value": "Paid per copy: enter an amount of $0 or more.",
            "max_decimal_places": "Paid per copy: at most two decimals (cents).",
            "max_digits": "Paid per copy: enter at most $10,000,000.",
            "max_whole_digits": "Paid per copy: enter at most $10,000,000.",
        },
    )

    class Meta:
        model = CollectionItem
        fields = list(CollectionItem.LOT_FIELDS)
        labels = {
            "quantity": "Quantity",
            "grade_label": "Label",
            "purchase_date": "Bought on",
            "acquired_from": "Where from",
        }
        widgets = {
            "purchase_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2, "maxlength": NOTES_MAX_LENGTH}),
            "quantity": forms.NumberInput(attrs={"min": "1", "max": str(MAX_QUANTITY)}),
        }
        error_messages = {
            "quantity": {
                "required": "Quantity: how many copies?",
                "invalid": "Quantity: enter a whole number.",
            },
            "purchase_date": {"invalid": "Bought on: enter a date, e.g. 2024-05-31."},
        }

    def __init__(self, *args, card: Card | None = None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.card = card or (self.instance.card if self.instance.pk else None)
        if self.instance.pk:
            if self.instance.purchase_price is not None:
                self.initial["purchase_price"] = (
                    Decimal(self.instance.purchase_price) / 100
                ).quantize(CENT)
            if self.instance.grade is not None:
                self.initial["grade"] = format(self.instance.grade.normalize(), "f")

    # How the form is laid out: what every lot needs, the grade (folded away unless the
    # copy is graded), then what was paid and where.
    LEAD_FIELDS = ("collection", "quantity", "condition")
    GRADED_FIELDS = ("grader", "grade", "grade_label")

    def lead_fields(self):
        return [self[name] for name in self.LEAD_FIELDS if name in self.fields]

    def graded_fields(self):
        return [self[name] for name in self.GRADED_FIELDS]

    def other_fields(self):
        grouped = {*self.LEAD_FIELDS, *self.GRADED_FIELDS}
        return [self[name] for name in self.fields if name not in grouped]

    def shows_grade(self) -> bool:
        """Whether the grade fields start unfolded: the copy is, or is being made, graded."""
        if self.is_bound:
            data = self.data
            return bool(data.get(self.add_prefix("grader"))) or (
                data.get(self.add_prefix("condition"), "NM") == ""
            )
        return bool(self.instance.pk and self.instance.is_graded)

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity < 1:
            raise forms.ValidationError("Quantity: at least 1.")
        if quantity > MAX_QUANTITY:
            raise forms.ValidationError(f"Quantity: at most {MAX_QUANTITY:,}.")
        return quantity

    def clean_purchase_price(self):
        price = self.cleaned_data.get("purchase_price")
        if price is not None and price > MAX_PRICE:
            raise forms.ValidationError("Paid per copy: enter at most $10,000,000.")
        return price

    def clean_purchase_date(self):
        day = self.cleaned_data.get("purchase_date")
        # Tomorrow is allowed, as the importer allows it: it is already today for someone
        # east of the server's time zone.
        if day and day > timezone.localdate() + dt.timedelta(days=1):
            raise forms.ValidationError("Bought on: the date is in the future.")
        # The importer refuses earlier dates: the exported file must import again.
        if day and day < EARLIEST_PURCHASE:
            raise forms.ValidationError(f"Bought on: the date is before {EARLIEST_PURCHASE.year}.")
        return day

    def clean_notes(self):
        notes = self.cleaned_data.get("notes", "")
        if len(notes) > NOTES_MAX_LENGTH:
            raise forms.ValidationError(
                f"Notes: at most {NOTES_MAX_LENGTH:,} characters ({len(notes):,} given)."
            )
        return notes

    def clean(self):
        cleaned = super().clean()
        condition = cleaned.get("condition")
        grader, grade = cleaned.get("grader"), cleaned.get("grade")
        if condition and (grader or grade is not None):
            # A condition with a grade picked too: the grade wins, as the clearer intent.
            cleaned["condition"] = ""
        elif not condition and not (grader and grade is not None):
            raise forms.ValidationError(
                "Condition or grade: choose a condition, or a grader and a grade."
            )
        if cleaned.get("condition"):
            cleaned["grade_label"] = ""
        return cleaned

    def save(self, commit=True):
        item = super().save(commit=False)
        if self.card is not None:
            item.card = self.card
        price = self.cleaned_data.get("purchase_price")
        item.purchase_price = None if price is None else int(price * 100)
        if commit:
            item.save()
        return item


class AddToCollectionForm(ItemForm):
    """The card page's and search results' form: an item, and which collection it goes in.

    Someone without a collection yet gets one made for them ("My collection") rather than
    being sent to create one first.
    """

    collection = forms.TypedChoiceField(label="Collection", coerce=int, required=True)

    class Meta(ItemForm.Meta):
        fields = [*CollectionItem.VALUE_FIELDS, "purchase_date"]

    def __init__(self, *args, user, collections: list[Collection], **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.collections = {collection.pk: collection for collection in collections}
        if collections:
            self.fields["collection"].choices = [(c.pk, c.name) for c in collections]
        else:
            del self.fields["collection"]
        self.order_fields(["collection", *self.Meta.fields])

    def target_collection(self) -> Collection:
        if "collection" in self.fields:
            return self.collections[self.cleaned_data["collection"]]
        collection, _ = Collection.objects.get_or_create(user=self.user, name=FIRST_COLLECTION_NAME)
        return collection

    def save(self, commit=True):
        item = super().save(commit=False)
        item.collection = self.target_collection()
        if commit:
            item.save()
        return item


@functools.lru_cache(maxsize=256)
def blank_add_fields(collections: tuple[tuple[int, str], ...], auto_id: str) -> str:
    """The fields of an unbound AddToCollectionForm offering these collections (pk, name),
    as collections/_item_fields.html renders them.

    Nothing else changes them: no initial value depends on the card, the user or the
    day. The card page offers the form to every signed-in visitor, and its dozen widgets
    rendered through the form templates were most of that page's time, so each set of
    choices is rendered once per process.
    """
    form = AddToCollectionForm(
        user=None,
        collections=[Collection(pk=pk, name=name) for pk, name in collections],
        auto_id=auto_id,
    )
    return render_to_string("collections/_item_fields.html", {"form": form})
