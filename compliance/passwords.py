"""PCI DSS 8.3.6: passwords of at least 12 characters with both letters and digits (the
length is Django's MinimumLengthValidator, configured to 12)."""

from typing import Any

from django.core.exceptions import ValidationError


class LettersAndDigitsValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
            raise ValidationError(
                "The password must contain both letters and digits.",
                code="password_letters_and_digits",
            )

    def get_help_text(self) -> str:
        return "Your password must contain both letters and digits."
