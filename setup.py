"""The compiled part of harassflag (everything else is in pyproject.toml)."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        # no C compiler: numpy and dicts do their work (`features.decision_of_hits`, `features._hits_numpy`,
        # `pieces.PieceTable`)
        [Extension(f"harassflag.{name}", [f"src/harassflag/{name}.pyx"], extra_compile_args=["-O3"], optional=True)
         for name in ("_tfidf_dot", "_piece_index", "_hits", "_explain")],
        compiler_directives={"language_level": "3"},
    )
)
