"""Analysis of compilations of Chinese government policy documents.

The pipeline: ``parse`` (raw compilation → tidy tables), ``tokens`` (segmentation), then the
keyword, issuer and cluster analyses. Notebooks import the loaders below and the functions of each
step's module.
"""

from .tables import load_parse_report, load_policies, load_policy_issuers, load_tokens

__all__ = ["load_parse_report", "load_policies", "load_policy_issuers", "load_tokens"]
__version__ = "0.1.0"
