"""Hypothesis on every parser: whatever arrives, nothing but a validation error escapes."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minsheng.intake import normalise, service, signing
from minsheng.intake.batch import BatchError, read_rows
from minsheng.intake.normalise import FieldError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text the way it arrives: Chinese, full-width forms, digits, control characters, emoji, surrogate-free.
messy = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    [
        "13905310001",
        "+86 139-0531-0001",
        "０５３１－８６０８１２３４",
        "2026-11-27 09:00",
        "2026年11月27日 9:00",
        "37010219900307123X",
        "\x00\u3000ＡＢＣ",
        "1" * 30,
        "",
        " ",
    ]
)
scalar = messy | st.integers() | st.floats(allow_nan=True) | st.none() | st.booleans()


def only_field_errors(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except FieldError as error:
        assert error.field and error.message
        return None


@FUZZ
@given(messy)
def test_clean_text(value):
    cleaned = only_field_errors(normalise.clean_text, value, required=True, max_length=50)
    if cleaned is not None:
        assert cleaned == cleaned.strip() and "\x00" not in cleaned and "\u3000" not in cleaned


@FUZZ
@given(scalar)
def test_phone(value):
    phone = only_field_errors(normalise.normalise_phone, value)
    if phone:
        assert phone.replace("-", "").isdigit()


@FUZZ
@given(scalar)
def test_id_number(value):
    only_field_errors(normalise.normalise_id_number, value)


@FUZZ
@given(scalar | st.datetimes() | st.dates())
def test_time(value):
    moment = only_field_errors(normalise.parse_time, value)
    if moment is not None:
        assert moment.tzinfo is not None and moment.year >= 2000


@pytest.mark.django_db
@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["工单编号", "来电时间", "来电号码", "诉求内容", "诉求地址", "x"]), scalar
    )
    | st.lists(scalar)
    | scalar
)
def test_work_order_fields(record):
    data = only_field_errors(service.fields_from_mapping, record, {"content": "诉求内容"}, "hotline_12345")
    if data is not None:
        only_field_errors(service.clean, data)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["a.csv", "b.xlsx", "c.txt", "d.pdf"]))
def test_batch_files(data, name):
    try:
        _, rows = read_rows(data, name)
        for _ in rows:
            pass
    except BatchError as error:
        assert name in str(error)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from([signing.KEY_HEADER, signing.TIMESTAMP_HEADER, signing.SIGNATURE_HEADER, "X-Other"]),
        messy,
    ),
    st.binary(max_size=100),
)
def test_signatures(headers, body):
    class Partner:
        key_id, secret, replay_window_s = "k", "s", 300

    with pytest.raises(signing.SignatureError):
        signing.verify(Partner, headers, body)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(messy)
def test_locator(text):
    from minsheng.routing import places

    place = places.locate(text, text)
    if place.community:
        assert place.community.startswith(place.township) and place.township.startswith(place.district)


@pytest.mark.django_db
@FUZZ
@given(
    st.dictionaries(st.sampled_from(["记录编号", "类型", "单位", "群众电话", "开始时间", "结束时间"]), scalar)
)
def test_service_records(record):
    from minsheng.servicerecords import intake

    only_field_errors(
        intake.build,
        record,
        mapping=intake.DEFAULT_MAPPING,
        source="t",
        units=intake.UnitIndex(),
        now=dt.datetime.now(normalise.SHANGHAI),
    )


class Stored:
    """A stand-in for a stored payload: the parsers read only these attributes."""

    def __init__(self, body: bytes, content_type: str, channel: str):
        self.body, self.content_type, self.channel = body, content_type, channel
        self.received_at = dt.datetime.now(normalise.SHANGHAI)
        self.source, self.headers, self.pk = "fuzz", {}, None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


raw_bytes = (
    st.binary(max_size=400)
    | messy.map(lambda s: s.encode("utf-8"))
    | st.sampled_from(
        [
            b"Subject: =?gb2312?B?suLK1A==?=\r\n\r\n\xc4\xe3\xba\xc3",
            b'--x\r\nContent-Disposition: form-data; name="content"\r\n\r\nhi\r\n--x--\r\n',
            b"description=%E5%99%AA%E9%9F%B3&service_code=noise&phone=139",
            b"lat=abc&long=200&media_url=javascript:x",
        ]
    )
)


@pytest.mark.django_db
@FUZZ
@given(raw_bytes)
def test_email_parser(body):
    from minsheng.intake.email import parse_imap

    only_field_errors(parse_imap, Stored(body, "message/rfc822", "email"))


@pytest.mark.django_db
@FUZZ
@given(raw_bytes, st.sampled_from(["multipart/form-data; boundary=x", "multipart/form-data", "text/plain"]))
def test_mailbox_form_parser(body, content_type):
    from minsheng.public.parsing import parse_mailbox

    only_field_errors(parse_mailbox, Stored(body, content_type, "chief_mailbox"))


@pytest.mark.django_db
@FUZZ
@given(raw_bytes)
def test_open311_parser(body):
    from minsheng.open311.intake import parse_open311

    only_field_errors(parse_open311, Stored(body, "application/x-www-form-urlencoded", "open311"))
