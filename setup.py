"""Build the Cython extension modules (every ``*.pyx`` under csim/ and harness/, subpackages included)."""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
LIBS = {"csim.milenage": ["crypto"]}  # AES-128 from OpenSSL's libcrypto


def extensions() -> list[Extension]:
    exts = []
    for pyx in sorted(HERE.glob("csim/**/*.pyx")) + sorted(HERE.glob("harness/**/*.pyx")):
        rel = pyx.relative_to(HERE)
        name = ".".join(rel.with_suffix("").parts)
        exts.append(Extension(name, [str(rel)], libraries=LIBS.get(name, []), extra_compile_args=["-O3"]))
    return exts


setup(
    ext_modules=cythonize(
        extensions(),
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
