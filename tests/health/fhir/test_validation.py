"""validate_resource reuses what it validated before (elements shared by many resources are
built as models once) without letting anything through that it would refuse otherwise."""

import uuid

import pytest
from fhir.resources.R4B.codeableconcept import CodeableConcept

from health.fhir.errors import FhirError
from health.fhir.validation import validate_resource


def observation(**elements):
    body = {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}}
    body.update(elements)
    return body


def unique_concept():
    """A CodeableConcept no other test uses, so no earlier validation has seen it."""
    return {"coding": [{"system": "http://loinc.org", "code": str(uuid.uuid4())}]}


def test_an_element_many_resources_share_is_built_once(monkeypatch):
    built = []
    real = CodeableConcept.model_validate.__func__

    def counting(cls, value, *args, **kwargs):
        built.append(value)
        return real(cls, value, *args, **kwargs)

    monkeypatch.setattr(CodeableConcept, "model_validate", classmethod(counting))
    code, category = unique_concept(), unique_concept()
    for value in range(50):
        validate_resource(
            observation(
                code=code,
                category=[category],
                valueQuantity={"value": value, "unit": "kg"},
            )
        )
    assert len(built) == 2  # code and category, the first time only


def test_an_element_seen_as_one_type_is_still_checked_as_another():
    reference = {"reference": f"Patient/{uuid.uuid4()}"}
    validate_resource(observation(subject=reference))
    with pytest.raises(FhirError) as error:
        validate_resource(observation(code=reference))
    assert error.value.status == 422
    assert error.value.issues[0]["expression"] == ["Observation.code.reference"]


def test_an_invalid_element_is_refused_every_time_with_its_path():
    concept = unique_concept()
    bad = {"coding": [{"system": "http://loinc.org", "code": "x", "userSelected": "maybe"}]}
    for _ in range(3):
        validate_resource(observation(code=concept))
        with pytest.raises(FhirError) as error:
            validate_resource(observation(code=concept, category=[concept, bad]))
        assert error.value.issues[0]["expression"] == [
            "Observation.category[1].coding[0].userSelected"
        ]


def test_required_bindings_are_checked_in_elements_seen_before():
    system = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    subject = {"reference": f"Patient/{uuid.uuid4()}"}
    condition = {"resourceType": "Condition", "subject": subject}
    validate_resource(
        {**condition, "clinicalStatus": {"coding": [{"system": system, "code": "active"}]}}
    )
    with pytest.raises(FhirError) as error:
        validate_resource(
            {**condition, "clinicalStatus": {"coding": [{"system": system, "code": "sort-of"}]}}
        )
    assert error.value.issues[0]["expression"] == ["Condition.clinicalStatus"]


def test_an_empty_element_is_refused_after_the_same_element_with_content():
    validate_resource(observation(method={"text": "scale"}))
    with pytest.raises(FhirError) as error:
        validate_resource(observation(method={"text": "scale", "coding": []}))
    assert error.value.issues[0]["expression"] == ["Observation.method.coding"]


def test_an_extension_with_primitive_extensions_is_accepted_again_and_again():
    extension = {
        "url": "http://example.org/label",
        "valueString": "Weight",
        "_valueString": {"extension": [{"url": "http://example.org/lang", "valueCode": "zh-Hant"}]},
    }
    for _ in range(3):
        validate_resource(observation(extension=[extension]))
    with pytest.raises(FhirError) as error:
        validate_resource(observation(extension=[{**extension, "_valueString": "x"}]))
    assert error.value.status == 422


def test_the_resource_is_returned_unchanged():
    body = observation(code=unique_concept(), valueQuantity={"value": 1, "unit": "kg"})
    text = repr(body)
    assert validate_resource(body) is body
    assert validate_resource(body) is body
    assert repr(body) == text


def test_large_elements_are_not_kept():
    from health.fhir import validation

    note = [{"text": "x" * validation.ELEMENT_MAX_TEXT}]
    validate_resource(observation(note=note))
    kept = [text for _model, text in validation._elements if "x" * 100 in text]
    assert kept == []
