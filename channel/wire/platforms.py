"""Architecture names as Docker and OCI platforms spell them: amd64, arm64, arm/v7.

Machines, kernels and distributions name one architecture several ways
(`uname -m` says x86_64 or aarch64, Debian says armhf); a Giver reports, and a
job names, the platform's name, so the two compare equal.
"""

PLATFORM_ARCHES = {
    "amd64": ("x86_64", "x86-64", "x64"),
    "arm64": ("aarch64", "arm64/v8", "armv8", "armv8b"),
    "arm/v7": ("armv7l", "armv7", "armv8l", "armhf", "arm"),
    "arm/v6": ("armv6l", "armv6", "armel"),
    "386": ("i386", "i486", "i586", "i686", "x86"),
    "ppc64le": ("ppc64el",),
    "s390x": (),
    "riscv64": (),
    "mips64le": (),
    "loong64": ("loongarch64",),
}
_NAMES = {alias: name for name, aliases in PLATFORM_ARCHES.items() for alias in (name, *aliases)}
OS_PREFIX = "linux/"


def platform_arch(name: str) -> str | None:
    """`name` (x86_64, aarch64, armv7l, linux/arm64, ...) as a platform architecture,
    or None if it names none this project knows."""
    name = name.strip().lower().removeprefix(OS_PREFIX)
    return _NAMES.get(name)


def known_arches() -> str:
    """The platform architectures, for error messages."""
    return ", ".join(PLATFORM_ARCHES)
