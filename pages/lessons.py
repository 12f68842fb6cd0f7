
import streamlit as st

from core.i18n import DEFAULT, _, language
from core.views.lessons import LESSONS
from app.context import current
from app.navigation import ensure_navigation, page_url
from app.views import PageView
from app.widgets import what_to_notice
from core.views import lessons as page_view

ensure_navigation()
ctx = current(needs_results=False)

st.title(_("Lessons"))
PageView("lessons")
what_to_notice(page_view.notices(ctx.config, LESSONS))
st.caption(_("Each lesson is a link: it opens the dashboard configured to show one known fact, on the page and in "
             "the view that shows it. Copy it into a course page or a forum answer; it reproduces the same numbers "
             "for everyone."))

for lesson in LESSONS:
    with st.container(border=True):
        st.markdown(f"#### {_(lesson.title)}")
        st.markdown(_(lesson.text))
        # its configuration, then the view that shows its fact, in the visitor's language
        query = lesson.link_query + ("" if language() == DEFAULT else f"&lang={language()}")
        url = page_url(lesson.page, query)
        st.markdown("[" + _("Open this lesson →") + f"]({url})")
        st.code(url, language=None, wrap_lines=True)
