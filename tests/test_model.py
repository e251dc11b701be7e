"""sohoa.classify model, combiner and training, on synthetic page texts (no OCR): the fast
path equals scikit-learn, the file round-trips and refuses damage, unknowns end `khac` or
with a confidence that sends them to review."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sklearn

from sohoa.classify import Classification, classify, load_catalogue
from sohoa.classify.combine import Evidence, Stacker, agreement_rule, candidates, features
from sohoa.classify.document import zones
from sohoa.classify.learn import Decision, Example, brier, reliability, train
from sohoa.classify.model import (
    MAGIC,
    CatalogueMismatch,
    ModelFileError,
    TrainedModel,
    dumps,
    load,
    loads,
    model_input,
    read_info,
)
from sohoa.classify.noise import ocr_noise
from sohoa.errors import SohoaError
from sohoa.sample.examples import synthetic_examples
from tests.conftest import CATALOGUE as RAW_CATALOGUE
from tests.test_classify import FIRST_PAGES, HEADER, LEAVE_REQUEST, REVIEW_THRESHOLD, check

CATALOGUE = load_catalogue(RAW_CATALOGUE)
TRAIN_SEED, TEST_SEED = 101, 202

# Documents of procedures outside the catalogue, of kinds the generator never writes.
NOVEL = {
    "guardianship": HEADER
    + """TỜ KHAI ĐĂNG KÝ GIÁM HỘ
Kính gửi: Ủy ban nhân dân phường Bến Nghé, quận 1
Họ, chữ đệm, tên người yêu cầu: Nguyễn Văn Bình
Ngày, tháng, năm sinh: 12/03/1970
Nơi cư trú: Số 12 đường Lê Lợi, phường Bến Nghé, quận 1
Đề nghị cơ quan đăng ký việc giám hộ giữa:
Người giám hộ: Nguyễn Văn Bình
Người được giám hộ: Nguyễn Minh Khang, sinh ngày 03/02/2015
Tôi cam đoan những nội dung khai trên đây là đúng sự thật.
""",
    "driving_licence": HEADER
    + """ĐƠN ĐỀ NGHỊ ĐỔI GIẤY PHÉP LÁI XE
Kính gửi: Sở Giao thông vận tải Thành phố Hồ Chí Minh
Tôi là: Trần Văn Sơn, sinh ngày 01/01/1985
Số định danh cá nhân: 079085001234
Hiện có giấy phép lái xe hạng B2 số 790123456789 cấp ngày 10/10/2014
Đề nghị cho tôi được đổi giấy phép lái xe.
""",
    "report": """UBND PHƯỜNG BẾN NGHÉ
Số: 45/BC-UBND
BÁO CÁO
Kết quả thực hiện nhiệm vụ quý I năm 2024
1. Công tác cải cách hành chính: tiếp nhận 1.245 hồ sơ, giải quyết đúng hạn 98%.
2. Phương hướng quý II: tiếp tục đẩy mạnh số hóa hồ sơ.
Nơi nhận: UBND quận 1; Lưu VT.
""",
    "lease": HEADER
    + """HỢP ĐỒNG THUÊ NHÀ
Bên cho thuê (Bên A): Ông Lê Văn Tám
Bên thuê (Bên B): Bà Phạm Thị Hoa
Điều 1. Bên A cho Bên B thuê căn nhà số 8 đường Hai Bà Trưng
Điều 2. Giá thuê 8.000.000 đồng/tháng
""",
}


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    examples = synthetic_examples(160, TRAIN_SEED, RAW_CATALOGUE, unknown_share=0.15, noise=0.15)
    return train(examples, CATALOGUE, seed=0)


@pytest.fixture(scope="module")
def held_out() -> list[Example]:
    return synthetic_examples(60, TEST_SEED, RAW_CATALOGUE, unknown_share=0.15, noise=0.15)


def test_model_classifies_unseen_noisy_records(model: TrainedModel, held_out) -> None:
    results = [check(classify(list(e.pages), CATALOGUE, model)) for e in held_out]
    assert {r.method for r in results} == {"combined"}
    right = sum(r.procedure == e.label for r, e in zip(results, held_out, strict=True))
    assert right >= 0.95 * len(held_out)
    accepted = [
        (r, e)
        for r, e in zip(results, held_out, strict=True)
        if r.procedure != "khac" and r.confidence >= REVIEW_THRESHOLD
    ]
    assert len(accepted) >= 0.8 * len(held_out)
    assert all(r.procedure == e.label for r, e in accepted)


def test_fast_path_equals_scikit_learn(model: TrainedModel, held_out) -> None:
    rows = [model_input(zones(list(e.pages))) for e in held_out[:20]]
    slow = model.probabilities_many(rows)
    for example, expected in zip(held_out[:20], slow, strict=True):
        fast = model.probabilities(zones(list(example.pages)))
        assert fast.keys() == expected.keys()
        assert max(abs(fast[k] - expected[k]) for k in fast) < 1e-6


def test_probabilities_are_a_distribution_over_the_labels(model: TrainedModel) -> None:
    probabilities = model.probabilities(zones([FIRST_PAGES["khai_tu"]]))
    assert set(probabilities) == set(model.info.labels)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert max(probabilities, key=probabilities.__getitem__) == "khai_tu"


@pytest.mark.parametrize("key", sorted(FIRST_PAGES))
def test_hand_written_forms_agree_with_the_rules(model: TrainedModel, key: str) -> None:
    # Forms worded unlike the generator's: the rules' title find carries them.
    result = check(classify([FIRST_PAGES[key]], CATALOGUE, model))
    assert result.procedure == key


@pytest.mark.parametrize("name", sorted(NOVEL))
def test_out_of_catalogue_documents_are_khac_or_reviewed(model: TrainedModel, name: str) -> None:
    result = check(classify([NOVEL[name]], CATALOGUE, model))
    assert result.procedure == "khac" or result.confidence < REVIEW_THRESHOLD


def test_known_kind_of_unknown_document_is_khac(model: TrainedModel) -> None:
    # The generator's out-of-catalogue documents include a leave request.
    result = check(classify([LEAVE_REQUEST], CATALOGUE, model))
    assert result.procedure == "khac"


@pytest.mark.parametrize("pages", [[], [""], ["   \n\n"], ["Trang 1", "", "Số: 15"]])
def test_no_text_is_khac_with_reason_even_with_a_model(model: TrainedModel, pages) -> None:
    result = classify(pages, CATALOGUE, model)
    assert result == Classification("khac", None, 0.0, "rules", "no_text", ())


def test_held_out_metrics_compare_the_ways_of_deciding(model: TrainedModel) -> None:
    metrics = model.info.metrics
    calibration = metrics["held_out_calibration"]
    assert set(calibration) == {"rules", "model", "agreement_rule", "stacked"}
    # The stacker is fitted to be calibrated; it must beat the rules' ad-hoc confidence.
    assert calibration["stacked"]["brier"] < calibration["rules"]["brier"]
    assert metrics["held_out_records"] == model.info.training_size == 160
    assert model.info.catalogue_version == CATALOGUE.version


# -- the file ----------------------------------------------------------------------------


def test_round_trip_keeps_info_and_predictions(model: TrainedModel, tmp_path, held_out) -> None:
    path = tmp_path / "classifier.model"
    path.write_bytes(dumps(model))
    again = load(path, CATALOGUE)
    assert again.info == model.info
    assert read_info(path) == model.info
    assert again.stacker == model.stacker
    for example in held_out[:10]:
        parts = zones(list(example.pages))
        assert again.probabilities(parts) == pytest.approx(model.probabilities(parts))


def _corrupt(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _corrupt(d, len(d) - 100), "damaged (checksum mismatch)"),
        (lambda d: d[: len(d) // 2], "damaged (checksum mismatch)"),
        (lambda d: d[: len(MAGIC) + 20], "damaged (no header)"),
        (lambda d: MAGIC + b"{not json\n" + d, "damaged (bad header)"),
        (lambda d: b"PK\x03\x04" + d, "is not a sohoa classifier model file"),
        (lambda d: b"", "is not a sohoa classifier model file"),
    ],
)
def test_damaged_file_is_refused(model: TrainedModel, tmp_path, damage, message: str) -> None:
    path = tmp_path / "classifier.model"
    path.write_bytes(damage(dumps(model)))
    with pytest.raises(ModelFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path, CATALOGUE)


def _rewrite_header(data: bytes, **changes) -> bytes:
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    header.update(changes)
    return MAGIC + json.dumps(header).encode() + data[end:]


def test_other_catalogue_version_is_refused(model: TrainedModel) -> None:
    edited = [dict(item) for item in RAW_CATALOGUE]
    edited[0] = {**edited[0], "keywords": [*edited[0]["keywords"], "trẻ sơ sinh"]}
    other = load_catalogue(edited)
    with pytest.raises(CatalogueMismatch) as raised:
        loads(dumps(model), "m.model", other)
    message = str(raised.value)
    assert CATALOGUE.version in message and other.version in message
    assert "sohoa classify train" in message and "\n" not in message


def test_other_scikit_learn_or_format_is_refused(model: TrainedModel) -> None:
    data = dumps(model)
    with pytest.raises(ModelFileError, match=r"scikit-learn 0\.1"):
        loads(_rewrite_header(data, sklearn_version="0.1"), "m.model")
    with pytest.raises(ModelFileError, match="format 99"):
        loads(_rewrite_header(data, format_version=99), "m.model")
    assert sklearn.__version__ in data[: data.index(b"\n", len(MAGIC))].decode()


def test_missing_file_is_a_model_file_error(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="cannot be read"):
        load(tmp_path / "nope.model")


# -- training input ------------------------------------------------------------------------


def test_labels_outside_the_catalogue_are_refused() -> None:
    examples = [Example((FIRST_PAGES["khai_sinh"],), "giam_ho", "folder/HS-1")] * 3
    with pytest.raises(SohoaError, match=r"giam_ho.*folder/HS-1"):
        train(examples, CATALOGUE)


def test_one_procedure_is_not_enough_to_train() -> None:
    examples = [Example((FIRST_PAGES["khai_sinh"],), "khai_sinh")] * 5
    examples.append(Example(("",), "khai_tu"))  # no text: skipped
    with pytest.raises(SohoaError, match="at least two procedures"):
        train(examples, CATALOGUE)


def test_rare_labels_are_left_to_the_rules() -> None:
    examples = synthetic_examples(40, 7, RAW_CATALOGUE, noise=0.1)
    examples = [e for e in examples if e.label in {"khai_sinh", "ket_hon", "khai_tu"}]
    examples.append(Example((FIRST_PAGES["thuong_tru"],), "thuong_tru"))
    trained = train(examples, CATALOGUE)
    assert trained.info.metrics["dropped_labels"] == {"thuong_tru": 1}
    assert "thuong_tru" not in trained.info.labels
    # The rules still find a procedure the model does not know.
    result = check(classify([FIRST_PAGES["thuong_tru"]], CATALOGUE, trained))
    assert result.procedure == "thuong_tru"


# -- combiner ------------------------------------------------------------------------------


def test_candidates_cover_model_rules_and_unknown() -> None:
    evidence = Evidence(
        rules={"ket_hon": 0.95, "khai_sinh": 0.1},
        rules_choice="ket_hon",
        model={"ket_hon": 0.7, "khai_tu": 0.2, "khac": 0.06, "khai_sinh": 0.04},
    )
    assert candidates(evidence, "khac") == ["ket_hon", "khai_tu", "khac", "khai_sinh"]
    agree = features(evidence, "ket_hon", "khac")
    assert agree[5] == 1.0 and agree[2] == pytest.approx(0.95)
    unknown = features(evidence, "khac", "khac")
    assert unknown[4] == 1.0 and unknown[2] == pytest.approx(0.05)


def test_stacker_round_trips_as_plain_numbers() -> None:
    stacker = Stacker((0.5, 1.0, 2.0, 1.0, -1.0, 3.0, 0.5), -4.0)
    assert Stacker.from_dict(json.loads(json.dumps(stacker.to_dict()))) == stacker
    assert 0.0 <= stacker.probability([0.0] * 7) < 0.05
    with pytest.raises(ValueError, match="other features"):
        Stacker.from_dict({**stacker.to_dict(), "features": ["a"]})


def test_agreement_rule_takes_max_when_agreeing_and_min_otherwise() -> None:
    agreeing = Evidence({"ket_hon": 0.95}, "ket_hon", {"ket_hon": 0.8, "khac": 0.2})
    assert agreement_rule(agreeing, 0.9) == ("ket_hon", 0.9)
    disagreeing = replace(agreeing, model={"khai_tu": 0.7, "ket_hon": 0.3})
    assert agreement_rule(disagreeing, 0.9) == ("ket_hon", 0.7)


def test_brier_and_reliability() -> None:
    decisions = [Decision("a", 1.0), Decision("b", 0.5), Decision("c", 0.5), Decision("d", 0.0)]
    truths = ["a", "b", "x", "d"]
    assert brier(decisions, truths) == pytest.approx((0 + 0.25 + 0.25 + 1) / 4)
    bins = reliability(decisions, truths, (0.0, 0.5, 1.0))
    assert [(b["records"], b["accuracy"]) for b in bins] == [(1, 1.0), (3, round(2 / 3, 4))]


def test_ocr_noise_is_seeded_and_damages_about_the_share_asked() -> None:
    import numpy as np

    text = "\n".join(FIRST_PAGES.values())
    noisy = ocr_noise(text, np.random.default_rng(1), 0.3)
    assert noisy == ocr_noise(text, np.random.default_rng(1), 0.3)
    assert ocr_noise(text, np.random.default_rng(1), 0.0) == text
    before, after = text.split(), noisy.split()
    changed = len(set(before) - set(after)) / len(set(before))
    assert 0.1 < changed < 0.6
