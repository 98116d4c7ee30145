"""The compiled part of harassflag (everything else is in pyproject.toml)."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("harassflag._tfidf_dot", ["src/harassflag/_tfidf_dot.pyx"], extra_compile_args=["-O3"],
                   optional=True)],  # no C compiler: numpy does its work (`features.decision_of_hits`),
        compiler_directives={"language_level": "3"},
    )
)
