"""The failure reasons of records (the codes `RecordError` and the driver give) as an
archive team reads them: in Vietnamese. The code stays next to it, for `sohoa failures`."""

from __future__ import annotations

REASONS = {
    "bad_filename": "Tên tệp không hợp lệ",
    "corrupt_image": "Ảnh quét bị hỏng",
    "corrupt_pdf": "Tệp PDF bị hỏng",
    "damaged": "Bản lưu trữ bị hư hỏng (sai mã băm)",
    "empty_file": "Tệp rỗng (0 byte)",
    "empty_record": "Hồ sơ không có tệp nào",
    "encrypted_pdf": "Tệp PDF có mật khẩu",
    "internal_error": "Lỗi nội bộ của phần mềm",
    "no_pages": "Không có trang đọc được",
    "not_a_file": "Không phải tệp thông thường",
    "output_exists": "Tên tệp lưu trữ đã bị lần chạy khác dùng",
    "ocr_failed": "Nhận dạng chữ (OCR) bị lỗi",
    "signing_failed": "Ký số không thành công",
    "source_changed": "Tệp gốc thay đổi trong khi xử lý",
    "source_missing": "Không còn tìm thấy tệp gốc",
    "symlink_outside_batch": "Liên kết trỏ ra ngoài lô",
    "timeout": "Nhận dạng chữ (OCR) quá thời gian",
    "too_large": "Trang quá lớn",
    "unsupported_type": "Định dạng tệp không được hỗ trợ",
    "worker_died": "Tiến trình xử lý dừng đột ngột",
}
UNKNOWN_REASON = "Lỗi khác"


def reason_label(code: str) -> str:
    """The Vietnamese name of a failure reason; a code not known here is "Lỗi khác"."""
    return REASONS.get(code, UNKNOWN_REASON)
