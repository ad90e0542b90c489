"""Signing stage: XML digital signatures (XMLDSig, XAdES-BES, SM2-SM3, WS-Security), signers and trust.

Pure: no network (except inside an external signer plug-in), no clock (pass `now`), no store.
"""
from .dsig import sign, verify
from .errors import SigningError
from .evidence import ReferenceEvidence, SignatureEvidence, SignResult, VerifyPolicy, VerifyResult
from .keys import Sm2PrivateKey, Sm2PublicKey, load_certificates, load_private_key
from .profiles import SigningProfile, load_profile, load_profiles
from .signers import LocalSigner, RemoteSigner
from .trust import TrustStore

__all__ = ["sign", "verify", "SigningError", "ReferenceEvidence", "SignatureEvidence", "SignResult", "VerifyPolicy",
           "VerifyResult", "Sm2PrivateKey", "Sm2PublicKey", "load_certificates", "load_private_key",
           "SigningProfile", "load_profile", "load_profiles", "LocalSigner", "RemoteSigner", "TrustStore"]
