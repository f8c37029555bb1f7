from dicom_assets.schema.survey import Survey


def test_only_non_model_elements_are_odd():
    metas = [
        {"00100010": {"vr": "PN"}, "00080020": {"vr": "DA", "Value": ["20260101"]}},
        {"00080060": "CT", "00280030": {"vr": "DS", "Value": "0.5"}},
    ]
    survey = Survey()
    for m in metas:
        survey.add(m)
    assert survey.keys == {"00100010", "00080020", "00080060", "00280030"}
    assert survey.odd_keys(metas) == {"00080060", "00280030"}
    clean = Survey()
    clean.add(metas[0])
    assert clean.odd_keys(metas[:1]) == set()
