"""initlab core: pure computation (NumPy, pandas, scikit-learn, Altair); no Streamlit."""
from .config import ExperimentConfig
from .experiment import Results, run

__all__ = ["ExperimentConfig", "Results", "run"]
