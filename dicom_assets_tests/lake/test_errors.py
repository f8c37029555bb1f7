"""Storage failures as one message: the SDK exceptions as adlfs raises them, translated."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError
from azure.identity import CredentialUnavailableError

from dicom_assets.lake.azure_storage import AzureCredentialChoice, AzureLakeLocation
from dicom_assets.lake.errors import LakeStorageError, translated_storage_errors

LOCATION = AzureLakeLocation(scheme="abfss", container="dicom", prefix="lake", account="prodlake")
KEY = "c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3MtMTIzNDU2Nzg5MA=="


def raised_through(error: BaseException, kind: str = "account_key") -> LakeStorageError:
    choice = AzureCredentialChoice(
        kind, "AZURE_STORAGE_ACCOUNT_KEY" if kind == "account_key" else "DefaultAzureCredential", {}
    )
    with pytest.raises(LakeStorageError) as raised, translated_storage_errors(LOCATION, choice):
        try:
            raise error
        except Exception as inner:  # adlfs wraps SDK errors like this
            raise RuntimeError(f"Failed to upload block: {inner}!") from inner
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None
    return raised.value


def test_missing_identity_says_how_to_sign_in():
    error = raised_through(
        CredentialUnavailableError("EnvironmentCredential: ... ManagedIdentityCredential: ..."),
        "default_azure_credential",
    )
    assert (
        "no Azure identity" in str(error) and "az login" in str(error) and "prodlake" in str(error)
    )
    assert "EnvironmentCredential" not in str(error)


def test_unreachable_endpoint_and_missing_container():
    assert "could not be reached" in str(
        raised_through(ServiceRequestError("Cannot connect to host"))
    )
    missing = ResourceNotFoundError("The specified container does not exist.")
    missing.error_code = "ContainerNotFound"
    assert "container 'dicom' of storage account 'prodlake' does not exist" in str(
        raised_through(missing)
    )


def test_secrets_in_kept_text_are_redacted(monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", KEY)
    error = raised_through(ServiceRequestError(f"Cannot connect to host with AccountKey={KEY};x"))
    assert KEY not in str(error) and "could not be reached" in str(error)


def test_other_errors_pass_through_untouched():
    choice = AzureCredentialChoice("account_key", "AZURE_STORAGE_ACCOUNT_KEY", {})
    with pytest.raises(KeyError), translated_storage_errors(LOCATION, choice):
        raise KeyError("a bug, not a storage failure")
