"""The scraper contract this SDK implements, and the SDK's version.

The contract number is written here once: the distribution's major version is
the contract's, so ``pip install "seekgive-sdk>=1,<2"`` gets an SDK that speaks
contract 1.
"""

CONTRACT_VERSION = 1
__version__ = f"{CONTRACT_VERSION}.0.0"
