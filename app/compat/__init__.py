"""The library internals the app relies on, one module per library, in the shape of scikit-learn's
``utils/fixes.py``: every private name of Streamlit or Altair that the app reads or writes is reached through
here and nowhere else, with a comment saying why no public API serves. After an upgrade, run
``python3 -m pytest tests/test_compat.py``: each internal has a test there that names what broke and what
depends on it. (loky's internals, which core/ uses, are in core/compat/loky.py: core/ never imports Streamlit.)

- ``streamlit``: the legacy pages-folder runner, the session of a script run, the runtime
- ``altair``: Altair's validation of every object as it is made
"""
