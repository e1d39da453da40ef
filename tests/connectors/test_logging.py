import io
import logging

from connectors.logging import RedactSecretsFilter, redact, register_secret


def test_registered_secret_is_masked():
    register_secret("s3cret-token-abcdef")

    assert redact("token s3cret-token-abcdef refused") == "token [redacted] refused"


def test_secret_parameters_are_masked_without_registration():
    text = "GET /api/v2/token/get?app_key=k1&app_secret=zzzzzz&auth_code=c"

    assert redact(text) == (
        "GET /api/v2/token/get?app_key=k1&app_secret=[redacted]&auth_code=c"
    )


def test_bearer_header_is_masked():
    assert redact("Authorization: Bearer abc.def.ghi") == "Authorization: [redacted]"


def test_short_values_are_not_registered():
    register_secret("abc")

    assert redact("abc") == "abc"


def test_filter_masks_arguments_and_tracebacks():
    register_secret("pw-known-to-the-test")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("login with %s failed", "pw-known-to-the-test")
        try:
            raise ValueError("bad pw-known-to-the-test")
        except ValueError:
            logger.exception("call failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    output = stream.getvalue()
    assert "pw-known-to-the-test" not in output
    assert "login with [redacted] failed" in output
    assert "ValueError: bad [redacted]" in output
