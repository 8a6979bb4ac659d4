from contexts.redaction import redact

PASSWORD = "s3cr3t-Pa55word!"


def test_it_masks_every_occurrence_of_every_secret():
    text = f"login {PASSWORD} failed; token abc123 and again {PASSWORD}"
    assert redact(text, [PASSWORD, "abc123"]) == "login *** failed; token *** and again ***"


def test_it_masks_the_url_encoded_form_a_connection_url_shows():
    text = "cannot connect to postgresql://etl:s3cr3t-Pa55word%21@db/dw"
    assert redact(text, [PASSWORD]) == "cannot connect to postgresql://etl:***@db/dw"


def test_it_masks_a_secret_a_driver_cut_short():
    text = "LINE 1: SELECT nope, 's3cr3t-Pa5...\n   ^"
    assert redact(text, [PASSWORD]) == "LINE 1: SELECT nope, '***...\n   ^"


def test_a_secret_containing_another_is_masked_whole():
    assert redact("key=abcdef", ["abc", "abcdef"]) == "key=***"


def test_it_leaves_text_without_secrets_alone_and_ignores_empty_secrets():
    assert redact("all fine...", ["", "s3cr3t"]) == "all fine..."
    assert redact("", [PASSWORD]) == ""


def test_it_masks_a_secret_glued_into_an_identifier_and_cut_without_a_mark():
    text = "unable to find column 'nonexist_s3cr3t-Pa5'; valid columns: a"
    assert redact(text, [PASSWORD]) == "unable to find column 'nonexist_***'; valid columns: a"


def test_it_masks_a_secret_split_across_lines():
    assert redact("value s3cr3t-P\na55word! rejected", [PASSWORD]) == "value ***\n*** rejected"


def test_pieces_of_short_secrets_and_ordinary_words_stay_readable():
    assert redact("the file abc was read", ["abc123"]) == "the file abc was read"
    assert redact("password: see the vault", [PASSWORD]) == "password: see the vault"
