"""The library internals core/ relies on, one module per library (the shape of scikit-learn's
``utils/fixes.py``): every private name of loky is reached through here and nowhere else, with a comment
saying why no public API serves; tests/test_compat.py checks each against the installed version. (The app's
Streamlit and Altair internals are in app/compat/: core/ never imports Streamlit.)

- ``loky``: the state of a loky ProcessPoolExecutor (broken or not, its size, its processes)
"""
