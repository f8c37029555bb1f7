"""A synthetic corpus of realistic CT and MR instances as DICOM JSON (for bench_schema.py).

Each instance has ~150 top-level attributes in the shape servers return them (PS3.18 F.2:
IS/DS as JSON numbers, PN as objects, binary as BulkDataURI), a few nested sequences and a
block of vendor private tags; values vary per series and per instance like real acquisitions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword

# (keyword, value) pairs common to CT and MR; callables are evaluated per instance.
COMMON: list[tuple[str, Any]] = [
    ("SpecificCharacterSet", ["ISO_IR 100"]),
    ("ImageType", ["ORIGINAL", "PRIMARY", "AXIAL"]),
    ("InstanceCreationDate", "20261124"),
    ("InstanceCreationTime", "101544.123"),
    ("StudyDate", "20261124"),
    ("SeriesDate", "20261124"),
    ("AcquisitionDate", "20261124"),
    ("ContentDate", "20261124"),
    ("StudyTime", "101530.250"),
    ("SeriesTime", "101533"),
    ("AccessionNumber", "ACC0001234"),
    ("Manufacturer", "ACME Medical"),
    ("InstitutionName", "St. Example Hospital"),
    ("InstitutionAddress", "1 Example Road, Town"),
    ("ReferringPhysicianName", {"Alphabetic": "Smith^Anna^^Dr"}),
    ("StationName", "SCANNER01"),
    ("StudyDescription", "CHEST ABDOMEN PELVIS"),
    ("InstitutionalDepartmentName", "Radiology"),
    ("PerformingPhysicianName", [{"Alphabetic": "Jones^Bob"}]),
    ("OperatorsName", [{"Alphabetic": "Tech^One"}, {"Alphabetic": "Tech^Two"}]),
    ("ManufacturerModelName", "Imager 9000"),
    ("PatientID", "PAT0001"),
    ("IssuerOfPatientID", "HOSP"),
    ("PatientBirthDate", "19640412"),
    ("PatientSex", "F"),
    ("PatientAge", "062Y"),
    ("PatientSize", 1.68),
    ("PatientWeight", 71.5),
    ("BodyPartExamined", "CHEST"),
    ("DeviceSerialNumber", "SN-44521"),
    ("SoftwareVersions", ["VA40", "SP2"]),
    ("ProtocolName", "Routine protocol"),
    ("PatientPosition", "HFS"),
    ("StudyID", "S1234"),
    ("AcquisitionNumber", 1),
    ("PositionReferenceIndicator", "XY"),
    ("SamplesPerPixel", 1),
    ("PhotometricInterpretation", "MONOCHROME2"),
    ("Rows", 512),
    ("Columns", 512),
    ("BitsAllocated", 16),
    ("BitsStored", 12),
    ("HighBit", 11),
    ("PixelRepresentation", 0),
    ("LossyImageCompression", "00"),
    ("RequestingPhysician", {"Alphabetic": "Ward^Ken"}),
    ("RequestedProcedureDescription", "CT CAP with contrast"),
    ("PerformedProcedureStepStartDate", "20261124"),
    ("PerformedProcedureStepStartTime", "101500"),
    ("PerformedProcedureStepID", "PPS123"),
    ("PerformedProcedureStepDescription", "Exam"),
    ("ImageComments", "Synthetic instance"),
    ("TimezoneOffsetFromUTC", "+0100"),
    ("PatientIdentityRemoved", "NO"),
    ("BurnedInAnnotation", "NO"),
    ("CurrentPatientLocation", "Ward 3"),
    ("AdmittingDiagnosesDescription", ["Follow-up"]),
    ("EthnicGroup", "Unknown"),
    ("Occupation", "Engineer"),
    ("AdditionalPatientHistory", "None"),
    ("LastMenstrualDate", "20261101"),
    ("PregnancyStatus", 4),
    ("SmokingStatus", "NO"),
    ("PatientComments", "No comments"),
    ("Laterality", "R"),
    ("ScheduledStudyLocation", "Room 2"),
    ("StudyComments", "None"),
    ("ReasonForStudy", "Screening"),
    ("RequestedProcedureID", "RP1"),
    ("ImagesInAcquisition", 240),
    ("AcquisitionDuration", 12.5),
    ("ContentQualification", "PRODUCT"),
    ("QualityControlImage", "NO"),
    ("PresentationLUTShape", "IDENTITY"),
    ("RescaleType", "HU"),
    ("WindowCenterWidthExplanation", ["WINDOW1", "WINDOW2"]),
    ("ClinicalTrialSponsorName", "None"),
    ("LongitudinalTemporalInformationModified", "UNMODIFIED"),
    ("AcquisitionDeviceProcessingDescription", "STANDARD"),
    ("ContrastBolusAgent", "Omnipaque 350"),
    ("ContrastBolusRoute", "IV"),
    ("ContrastBolusVolume", 80.0),
    ("ContrastBolusStartTime", "101200"),
    ("ContrastBolusTotalDose", 28.0),
    ("ContrastFlowRate", [3.0]),
    ("ContrastFlowDuration", [26.7]),
    ("ContrastBolusIngredient", "IODINE"),
    ("ContrastBolusIngredientConcentration", 350.0),
    ("ScanningSequence", ["RM"]),
    ("FrameOfReferenceUID", "1.2.826.0.1.3680043.8.498.1"),
]
CT_ONLY: list[tuple[str, Any]] = [
    ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2"),
    ("Modality", "CT"),
    ("ScanOptions", ["HELICAL"]),
    ("SliceThickness", 1.25),
    ("KVP", 120.0),
    ("DataCollectionDiameter", 500.0),
    ("ReconstructionDiameter", 380.0),
    ("DistanceSourceToDetector", 1085.6),
    ("DistanceSourceToPatient", 595.0),
    ("GantryDetectorTilt", 0.0),
    ("TableHeight", 160.5),
    ("RotationDirection", "CW"),
    ("ExposureTime", 500),
    ("XRayTubeCurrent", 245),
    ("Exposure", 122),
    ("FilterType", "BODY FILTER"),
    ("GeneratorPower", 29),
    ("FocalSpots", [1.2]),
    ("ConvolutionKernel", ["B30f"]),
    ("RevolutionTime", 0.5),
    ("SingleCollimationWidth", 0.625),
    ("TotalCollimationWidth", 40.0),
    ("TableSpeed", 55.0),
    ("TableFeedPerRotation", 27.5),
    ("SpiralPitchFactor", 0.984),
    ("CTDIvol", 9.81),
    ("ExposureModulationType", "DOSE"),
    ("RescaleIntercept", -1024.0),
    ("RescaleSlope", 1.0),
    ("WindowCenter", [40.0, 300.0]),
    ("WindowWidth", [400.0, 1500.0]),
    ("EstimatedDoseSaving", 21.4),
    ("DataCollectionCenterPatient", [0.0, -180.0, 80.0]),
    ("ReconstructionTargetCenterPatient", [0.0, -180.0, 80.0]),
]
MR_ONLY: list[tuple[str, Any]] = [
    ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.4"),
    ("Modality", "MR"),
    ("ScanningSequence", ["SE"]),
    ("SequenceVariant", ["SK", "SP"]),
    ("ScanOptions", ["PFP"]),
    ("MRAcquisitionType", "2D"),
    ("SequenceName", "*tse2d1_15"),
    ("AngioFlag", "N"),
    ("SliceThickness", 4.0),
    ("RepetitionTime", 4000.0),
    ("EchoTime", 98.0),
    ("NumberOfAverages", 2.0),
    ("ImagingFrequency", 123.25),
    ("ImagedNucleus", "1H"),
    ("EchoNumbers", [1]),
    ("MagneticFieldStrength", 3.0),
    ("SpacingBetweenSlices", 4.8),
    ("NumberOfPhaseEncodingSteps", 256),
    ("EchoTrainLength", 15),
    ("PercentSampling", 80.0),
    ("PercentPhaseFieldOfView", 87.5),
    ("PixelBandwidth", 190.0),
    ("TransmitCoilName", "Body"),
    ("AcquisitionMatrix", [0, 320, 256, 0]),
    ("InPlanePhaseEncodingDirection", "ROW"),
    ("FlipAngle", 150.0),
    ("VariableFlipAngleFlag", "N"),
    ("SAR", 1.2),
    ("dBdt", 0.0),
    ("WindowCenter", [600.0]),
    ("WindowWidth", [1200.0]),
    ("ReceiveCoilName", "Head_32"),
]


def _element(keyword: str, value: Any) -> tuple[str, dict]:
    tag = tag_for_keyword(keyword)
    vr = dictionary_VR(tag).split(" or ")[0]
    values = value if isinstance(value, list) else [value]
    return f"{tag:08X}", {"vr": vr, "Value": values}


def _code(value: str, scheme: str, meaning: str) -> dict:
    return {
        "00080100": {"vr": "SH", "Value": [value]},
        "00080102": {"vr": "SH", "Value": [scheme]},
        "00080104": {"vr": "LO", "Value": [meaning]},
    }


def _private_block(series: random.Random, rng: random.Random, index: int) -> dict[str, dict]:
    """A vendor's private tags (two creators, ~20 elements of mixed VRs). Like real scanner
    parameters, most are constant within a series (``series`` seeds them); a few vary per
    instance (table position, a counter, a measured value)."""
    out: dict[str, dict] = {
        "00190010": {"vr": "LO", "Value": ["ACME_ACQU_01"]},
        "00430010": {"vr": "LO", "Value": ["ACME_PARM_01"]},
    }
    for i in range(10):
        out[f"001910{i:02X}"] = {"vr": "DS", "Value": [round(series.uniform(0, 500), 3)]}
    out["00191020"] = {"vr": "DS", "Value": [round(-180.0 + index * 1.25, 2)]}
    out["00191021"] = {"vr": "SL", "Value": [1000 + index]}
    out["00191022"] = {"vr": "DS", "Value": [round(rng.uniform(10, 20), 2)]}
    for i in range(6):
        out[f"004310{i + 0x10:02X}"] = {"vr": "SS", "Value": [series.randint(-100, 100)]}
    out["00431030"] = {"vr": "LO", "Value": [f"RECON-{series.randint(0, 6)}"]}
    out["00431031"] = {"vr": "SH", "Value": ["HELIX", "V2"]}
    out["00431040"] = {"vr": "OB", "BulkDataURI": "http://127.0.0.1/bulk/private"}
    return out


def synthetic_instances(count: int, seed: int = 7, series_size: int = 100) -> Iterator[dict]:
    """``count`` instances in series of ``series_size``, alternating CT and MR series."""
    rng = random.Random(seed)
    base = "1.2.826.0.1.3680043.8.498"
    for number in range(count):
        series = number // series_size
        index = number % series_size
        ct = series % 2 == 0
        md: dict[str, dict] = dict(_element(k, v) for k, v in COMMON + (CT_ONLY if ct else MR_ONLY))
        study_uid = f"{base}.{series // 4 + 1}"
        series_uid = f"{study_uid}.{series + 1}"
        z = -180.0 + index * 1.25
        time = f"1016{index // 60 % 60:02d}.{index % 60 * 1000 + rng.randint(0, 999):06d}"
        for keyword, value in [
            ("StudyInstanceUID", study_uid),
            ("SeriesInstanceUID", series_uid),
            ("SOPInstanceUID", f"{series_uid}.{index + 1}"),
            ("SeriesNumber", series + 1),
            ("InstanceNumber", index + 1),
            ("AcquisitionTime", time),
            ("ContentTime", time),
            ("SliceLocation", z),
            ("ImagePositionPatient", [-250.0, -250.0, z]),
            ("ImageOrientationPatient", [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            ("PixelSpacing", [0.9765625, 0.9765625]),
            ("SeriesDescription", f"{'CT' if ct else 'MR'} series {series + 1}"),
            ("PatientName", {"Alphabetic": f"Doe^Jane^{series // 4}"}),
            ("AcquisitionDateTime", f"20261124{time}"),
            ("LargestImagePixelValue", rng.randint(1000, 4095)),
            ("SmallestImagePixelValue", 0),
        ]:
            key, elem = _element(keyword, value)
            md[key] = elem
        for keyword, items in [
            ("ProcedureCodeSequence", [_code("77477000", "SCT", "CT of chest")]),
            ("AnatomicRegionSequence", [_code("51185008", "SCT", "Chest")]),
            (
                "ReferencedImageSequence",
                [
                    {
                        "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                        "00081155": {"vr": "UI", "Value": [f"{series_uid}.{i}"]},
                    }
                    for i in (1, 2, 3)
                ],
            ),
            (
                "RequestAttributesSequence",
                [
                    {
                        "00401001": {"vr": "SH", "Value": ["RP1"]},
                        "00400009": {"vr": "SH", "Value": ["SPS1"]},
                        "00400008": {"vr": "SQ", "Value": [_code("CTCAP", "LOCAL", "CT CAP")]},
                    }
                ],
            ),
        ]:
            md[f"{tag_for_keyword(keyword):08X}"] = {"vr": "SQ", "Value": items}
        md.update(_private_block(random.Random(f"{seed}-{series}"), rng, index))
        md["7FE00010"] = {"vr": "OW", "BulkDataURI": f"http://127.0.0.1/bulk/{number}"}
        yield dict(sorted(md.items()))
