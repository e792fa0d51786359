"""Styles only the staff window uses, layered on the app theme (resources/theme/portal.qss)."""

STAFF_QSS = """
QFrame#SearchPanel { background: #FFFFFF; border-right: 1px solid #DCE3ED; }
QLabel#PanelTitle { font-size: 15px; font-weight: bold; color: #0E2747; }
QLabel#PanelHint { font-size: 12px; color: #5A6678; }
QLineEdit#SearchBox { padding: 8px 10px 8px 10px; font-size: 14px; }
QListView#SearchResults, QListView#ChangeLog, QListWidget#NotesList {
    background: #FFFFFF; border: 1px solid #DCE3ED; border-radius: 8px; outline: 0;
}
QLabel#ConsoleBadge {
    background: #EAF1FB; color: #1F4E99; border-radius: 10px; padding: 3px 10px;
    font-size: 12px; font-weight: bold;
}
QFrame#ActingBanner { background: #EEF3FB; border-bottom: 1px solid #C9D8F0; }
QFrame#ActingBanner[channel="branch"] { background: #F1F7EE; border-bottom: 1px solid #CFE3C6; }
QLabel#ActingText { font-size: 13px; color: #0E2747; }
QLabel#Presence { font-size: 12px; font-weight: bold; border-radius: 10px; padding: 3px 10px; }
QLabel#Presence[online="true"] { background: #E3F3E6; color: #1B6E30; }
QLabel#Presence[online="false"] { background: #EEF1F5; color: #5A6678; }
QLabel#OtherViewers { font-size: 12px; color: #7D4C00; }
QFrame#SidePanel { background: #F7F9FC; border-left: 1px solid #DCE3ED; }
QFrame#SidePanel[drawer="true"] { border-left: 3px solid #9FB3CF; }
QPushButton#SideToggle:checked { background: #EAF1FB; }
QLabel#LiveDot { font-size: 12px; font-weight: bold; color: #5A6678; }
QLabel#LiveDot[state="live"] { color: #1B6E30; }
QLabel#LiveDot[state="reconnecting"], QLabel#LiveDot[state="offline"] { color: #A8231B; }
QPlainTextEdit#NoteEditor {
    background: #FFFFFF; border: 1px solid #C5CFDD; border-radius: 8px; padding: 6px; font-size: 13px;
}
QPlainTextEdit#NoteEditor[invalid="true"] { border: 1px solid #B3261E; }
QTabWidget#StaffTabs::pane { border: 0; }
QTabBar::tab {
    background: #E9EEF5; color: #1A2433; padding: 8px 14px; margin-right: 2px;
    border-top-left-radius: 6px; border-top-right-radius: 6px; font-size: 13px;
}
QTabBar::tab:selected { background: #FFFFFF; color: #0E2747; font-weight: bold; }
QTabWidget#SideTabs::pane { border: 0; }
QTableWidget#OpenAccounts { background: #FFFFFF; }
QListWidget#NotesList::item { padding: 8px 6px; border-bottom: 1px solid #E4E9F0; color: #1A2433; }
QListWidget#NotesList::item:selected { background: #EAF1FB; }
"""
