"""Japanese for the course's messages (``helpers.course.messages``): English sentence → 日本語.

Keys are the English exactly as the code writes it, with ``{}`` for each value an f-string fills in;
a translation places those values with ``{}`` (in order) or ``{0}``, ``{1}``, ... (any order).
tests/course/test_messages.py checks that every key is still a sentence the code can say.
"""

MESSAGES = {
    "not done yet": "まだです",
    "Continuing with {} for now.": "ひとまず {} で先へ進みます。",
    "calling your code raised {}": "あなたのコードを呼ぶと例外が出ました: {}",
    "your function raises NotImplementedError": "関数が NotImplementedError を送出しています",
    "is this run normal?": "この実行は正常？",
}
