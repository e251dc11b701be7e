"""The pages' words in Vietnamese (default) and English, and how times are shown."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LANGUAGES = ("vi", "en")

# key: (Vietnamese, English)
WORDS: dict[str, tuple[str, str]] = {
    "app": ("Kho hồ sơ số hóa", "Digitized records"),
    "login": ("Đăng nhập", "Sign in"),
    "logout": ("Đăng xuất", "Sign out"),
    "user": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "bad_login": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "throttled": ("Đăng nhập sai quá nhiều lần: thử lại sau ít phút.",
                  "Too many failed sign-ins: try again in a few minutes."),
    "search": ("Tra cứu", "Search"),
    "dashboard": ("Tiến độ", "Dashboard"),
    "unscanned": ("Chưa quét", "Not scanned"),
    "verification": ("Kiểm tra", "Verification"),
    "events": ("Nhật ký xử lý", "Events"),
    "batches": ("Lô quét", "Batches"),
    "failures": ("Lỗi", "Failures"),
    "reviews": ("Chờ duyệt", "Review queue"),
    "users": ("Người dùng", "Users"),
    "tokens": ("Mã truy cập API", "API tokens"),
    "access_log": ("Nhật ký truy cập", "Access log"),
    "api_docs": ("Tài liệu API", "API docs"),
    "query": ("Từ khóa", "Words"),
    "procedure": ("Thủ tục", "Procedure"),
    "unit": ("Đơn vị", "Unit"),
    "year": ("Năm", "Year"),
    "batch": ("Lô", "Batch"),
    "state": ("Trạng thái", "State"),
    "any": ("(tất cả)", "(any)"),
    "find": ("Tìm", "Find"),
    "hits": ("kết quả", "hits"),
    "no_hits": ("Không tìm thấy hồ sơ nào.", "No dossier found."),
    "page": ("Trang", "Page"),
    "previous": ("« Trước", "« Previous"),
    "next": ("Sau »", "Next »"),
    "code": ("Mã hồ sơ", "Dossier code"),
    "title": ("Tiêu đề", "Title"),
    "record": ("Hồ sơ", "Record"),
    "download": ("Tải bản PDF/A đã ký", "Download the signed PDF/A"),
    "dossier": ("Thông tin hồ sơ", "Dossier"),
    "metadata": ("Siêu dữ liệu (NĐ 30/2020)", "Metadata (Decree 30/2020)"),
    "register": ("Mục lục hồ sơ giấy", "Paper register"),
    "pages": ("Trang", "Pages"),
    "ocr_text": ("Văn bản nhận dạng", "OCR text"),
    "confidence": ("Độ tin cậy", "Confidence"),
    "signature": ("Chữ ký số", "Signature"),
    "signed_by": ("Người ký", "Signed by"),
    "signed_at": ("Thời điểm ký", "Signed at"),
    "level": ("Mức", "Level"),
    "last_verify": ("Kiểm tra gần nhất", "Last verification"),
    "never": ("chưa kiểm tra", "never"),
    "ok": ("đạt", "ok"),
    "failed": ("không đạt", "failed"),
    "test_key": ("KHÓA THỬ NGHIỆM — không có giá trị pháp lý",
                 "TEST KEY — of no legal value"),
    "test_marker": ("Có {n} hồ sơ được ký bằng khóa THỬ NGHIỆM của 'sohoa init': chữ ký này "
                    "không có giá trị pháp lý.",
                    "{n} file(s) were signed with the TEST key of 'sohoa init': such a "
                    "signature is worth nothing in law."),
    "at": ("Thời gian", "Time"),
    "kind": ("Bước", "Step"),
    "outcome": ("Kết quả", "Outcome"),
    "tool": ("Công cụ", "Tool"),
    "detail": ("Chi tiết", "Detail"),
    "digitized": ("đã số hóa", "digitized"),
    "items": ("hồ sơ", "dossiers"),
    "remaining": ("còn lại", "remaining"),
    "per_day": ("hồ sơ/ngày (7 ngày qua)", "dossiers/day (last 7 days)"),
    "projected": ("Dự kiến hoàn thành", "Projected completion"),
    "unknown": ("chưa đủ dữ liệu", "not enough data"),
    "burnup": ("Tiến độ theo thời gian", "Progress over time"),
    "burnup_legend": ("Đường liền: hồ sơ đã số hóa cộng dồn; nét đứt: dự báo theo tốc độ 7 ngày "
                      "qua; đường đỏ: 100%.",
                      "Solid: dossiers digitized, cumulative; dashed: projection at the last 7 "
                      "days' pace; red: 100%."),
    "by_procedure": ("Theo thủ tục", "By procedure"),
    "by_unit": ("Theo đơn vị", "By unit"),
    "by_year": ("Theo năm", "By year"),
    "backlog": ("Hồ sơ tồn đọng", "Backlog"),
    "reason": ("Lý do", "Reason"),
    "count": ("Số lượng", "Count"),
    "verified_ok": ("Đạt", "Verified"),
    "verified_failed": ("Không đạt", "Failed"),
    "verified_never": ("Chưa kiểm tra", "Never verified"),
    "basis_inventory": ("so với mục lục hồ sơ", "against the paper register"),
    "basis_records": ("so với số hồ sơ đã quét (chưa nhập mục lục)",
                      "against the records scanned (no register imported)"),
    "as_of": ("Số liệu lúc", "Figures as of"),
    "location": ("Nơi lưu giữ", "Kept at"),
    "csv": ("Tải CSV", "Download CSV"),
    "total": ("Tổng", "Total"),
    "shown_first": ("hiển thị {n} hồ sơ đầu tiên", "the first {n} shown"),
    "source": ("Nguồn", "Source"),
    "created": ("Tạo lúc", "Created"),
    "started": ("Bắt đầu", "Started"),
    "finished": ("Kết thúc", "Finished"),
    "running": ("đang chạy", "running"),
    "attempts": ("Số lần", "Attempts"),
    "message": ("Thông báo", "Message"),
    "role": ("Vai trò", "Role"),
    "active": ("Hoạt động", "Active"),
    "add": ("Thêm", "Add"),
    "disable": ("Khóa", "Disable"),
    "enable": ("Mở khóa", "Enable"),
    "revoke": ("Thu hồi", "Revoke"),
    "revoked": ("Đã thu hồi", "Revoked"),
    "client": ("Ứng dụng", "Client"),
    "new_token": ("Mã mới (chỉ hiện một lần, hãy lưu lại):",
                  "New token (shown once: keep it now):"),
    "actor": ("Người truy cập", "Who"),
    "action": ("Hành động", "Action"),
    "address": ("Địa chỉ", "Address"),
    "not_found": ("Không tìm thấy.", "Not found."),
    "forbidden": ("Vai trò của bạn không được xem trang này.",
                  "Your role may not see this page."),
    "bad_request": ("Yêu cầu không hợp lệ.", "Bad request."),
    "csrf": ("Biểu mẫu đã hết hạn: tải lại trang và thử lại.",
             "The form expired: reload the page and try again."),
    "error": ("Lỗi", "Error"),
    "record_id": ("Mã bản ghi", "Record id"),
    "file": ("Tệp", "File"),
    "done": ("Đã lưu.", "Saved."),
    "language": ("English", "Tiếng Việt"),
    "thumb": ("Trang {n}", "Page {n}"),
    "flags": ("Cảnh báo", "Flags"),
    "no_file": ("Hồ sơ này chưa có bản PDF/A đã ký.", "This record has no signed PDF/A yet."),
    "test_signed_list": ("Hồ sơ ký bằng khóa thử nghiệm", "Files signed with the TEST key"),
    "open_events": ("Xem nhật ký của hồ sơ (mã bản ghi)", "Events of a record (record id)"),
    "view": ("Xem", "View"),
    "states": ("Theo trạng thái", "By state"),
    "percent": ("%", "%"),
}


def word(key: str, language: str, **values: object) -> str:
    vi, en = WORDS.get(key, (key, key))
    text = en if language == "en" else vi
    return text.format(**values) if values else text


def local_time(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    """dd/mm/yyyy HH:MM in the display zone (Asia/Ho_Chi_Minh by default)."""
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def local_day(day: dt.date | None) -> str:
    return "—" if day is None else day.strftime("%d/%m/%Y")
