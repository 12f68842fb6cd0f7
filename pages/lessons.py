import streamlit as st

from core.lessons import LESSONS
from app.navigation import ensure_navigation, page_url

ensure_navigation()

st.title("Lessons")
st.caption("Each lesson is a link: it opens the dashboard configured to show one known fact. "
           "Copy it into a course page or a forum answer; it reproduces the same numbers for everyone.")

for lesson in LESSONS:
    with st.container(border=True):
        st.markdown(f"#### {lesson.title}")
        st.markdown(lesson.text)
        url = page_url(lesson.page, lesson.query)
        st.markdown(f"[Open this lesson →]({url})")
        st.code(url, language=None, wrap_lines=True)
