"""pmlkg/schema.yaml is the model: the demo graph, built by the real pipeline and loader, has only the
labels, relationship types and properties it declares, with the declared types and enum values; and the
layers take their vocabularies from it."""

from __future__ import annotations

from typing import get_args

import pytest

from pmlkg.schema import SCHEMA, load_schema


@pytest.fixture(scope="module")
def demo(demo_store):  # noqa: ANN001, ANN201
    return demo_store


def test_every_node_property_is_declared_with_its_type(demo) -> None:  # noqa: ANN001
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in demo.read("MATCH (n) RETURN n"):
        node = row["n"]
        labels = node["_labels"]
        assert len(labels) == 1 and labels[0] in SCHEMA.nodes, labels
        seen[labels[0]] = seen.get(labels[0], 0) + 1
        problems += SCHEMA.problems(node, SCHEMA.nodes[labels[0]].properties, labels[0])
    assert problems == []
    # the demo exercises every label but ChemicalEntity (each of its drugs is in the lexicon)
    assert set(SCHEMA.nodes) - set(seen) == {"ChemicalEntity"}


def test_every_edge_property_and_end_is_declared(demo) -> None:  # noqa: ANN001
    problems: list[str] = []
    types: set[str] = set()
    for row in demo.read("MATCH (a)-[r]->(b) RETURN labels(a)[0] AS a, r, labels(b)[0] AS b"):
        rel = row["r"]["_type"]
        types.add(rel)
        spec = SCHEMA.relationships.get(rel)
        assert spec is not None, rel
        if row["a"] not in spec.sources or row["b"] not in spec.targets:
            problems.append(f"{rel}: {row['a']} -> {row['b']} not in schema.yaml")
        problems += SCHEMA.problems(row["r"], SCHEMA.edge_properties(rel), rel)
    assert problems == []
    assert types == set(SCHEMA.relationships)


def test_the_checker_reports_what_is_wrong() -> None:
    case = SCHEMA.nodes["Case"].properties
    assert SCHEMA.problems({"outcome": "dead", "age_years": "12", "n_defects": 1, "iris": 1, "sex": None,
                            "jcv_detection": ["csf_pcr", "mri"], "cohort_size": True}, case, "Case") == [
        "Case.outcome: 'dead' is not enum:outcome",
        "Case.age_years: '12' is not float",
        "Case.n_defects: not in schema.yaml",
        "Case.iris: 1 is not bool",
        "Case.jcv_detection: ['csf_pcr', 'mri'] is not list[enum:jcv_detection]",
        "Case.cohort_size: True is not int",
    ]


def test_a_schema_with_an_unknown_type_or_label_is_refused() -> None:
    base = "version: 2\nenums: {entity_label: {GENE: g}}\nevidence_properties: {}\n"
    with pytest.raises(ValueError, match="unknown type 'date'"):
        load_schema(base + "nodes: {Gene: {biolink: b, key: s, properties: {s: {type: date}}}}\nrelationships: {}\n")
    with pytest.raises(ValueError, match="unknown labels \\['Drug'\\]"):
        load_schema(base + "nodes: {Gene: {biolink: b, key: s, properties: {s: {type: str}}}}\n"
                    "relationships: {X: {from: Gene, to: Drug, biolink: b}}\n")
    with pytest.raises(ValueError, match="kgx.by_role names unknown roles \\['given'\\]"):
        load_schema(base + "nodes: {Gene: {biolink: b, key: s, properties: {s: {type: str}}}}\n"
                    "relationships: {X: {from: Gene, to: Gene, biolink: b, kgx: {by_role: {given: {predicate: p, category: c}}}}}\n")
    with pytest.raises(ValueError, match="input_label 'DRUG' is not an entity_label"):
        load_schema(base + "nodes: {Gene: {biolink: b, key: s, input_label: DRUG, properties: {s: {type: str}}}}\n"
                    "relationships: {}\n")


def test_the_layers_take_their_vocabularies_from_the_schema() -> None:
    from pmlkg.api import models
    from pmlkg.extraction import records
    from pmlkg.graph.queries.associations import AssociationQuery

    assert get_args(records.Role) == get_args(models.Role) == ("exposure", "treatment", "other")
    assert get_args(records.Outcome) == ("died", "survived", "unknown")
    assert get_args(records.Label) == ("GENE", "DRUG", "DRUG_CLASS", "DEFECT", "DISEASE")
    assert get_args(models.CaseOutcome.model_fields["outcome"].annotation) == ("died", "survived", "iris")
    assert AssociationQuery.__dataclass_fields__["role"].type == "Role"
    # every node made from an extraction label names one the NER produces
    assert {n.input_label for n in SCHEMA.nodes.values() if n.input_label} == {"GENE", "DRUG", "DRUG_CLASS", "DEFECT"}


def test_node_ids_follow_the_schema_curie_rules() -> None:
    gene, disease, drug = SCHEMA.nodes["Gene"], SCHEMA.nodes["Disease"], SCHEMA.nodes["Drug"]
    assert gene.curie({"symbol": "CD40LG", "hgnc_id": "HGNC:11935", "ncbi_gene_id": 959}) == "HGNC:11935"
    assert gene.curie({"symbol": "CD40LG", "hgnc_id": None, "ncbi_gene_id": 959}) == "NCBIGene:959"
    assert gene.curie({"symbol": "FOO1"}) == "pmlkg:gene/FOO1"
    assert disease.curie({"id": "iuis:x-linked-hyper-igm", "curie": "OMIM:308230"}) == "OMIM:308230"
    assert disease.curie({"id": "iuis:x-linked-hyper-igm", "curie": None}) == "pmlkg:disease/iuis:x-linked-hyper-igm"
    assert disease.curie({"id": "unnormalised:odd syndrome"}) == "pmlkg:disease/unnormalised:odd%20syndrome"
    assert drug.curie({"name": "rituximab", "drugbank_id": None, "mesh_id": "D000069283"}) == "MESH:D000069283"
    assert drug.curie({"name": "trimethoprim/sulfamethoxazole"}) == "pmlkg:drug/trimethoprim%2Fsulfamethoxazole"
    assert SCHEMA.nodes["Publication"].curie({"pmid": "123"}) == "PMID:123"
    assert SCHEMA.nodes["ChemicalEntity"].key_curie("x") == "pmlkg:chemical/x"
    assert SCHEMA.nodes["DrugClass"].curie({"id": "corticosteroid", "mesh_id": "D000305"}) == "MESH:D000305"
    case = SCHEMA.nodes["Case"]
    assert (case.category({"cohort_size": 1}), case.category({"cohort_size": 12})) == ("biolink:Case", "biolink:Cohort")


def test_kgx_mapping_is_complete() -> None:
    """Every label and relationship either has a Biolink mapping the export writes or says why it is left out."""
    kept = [n for n in SCHEMA.nodes.values() if not n.kgx_omit]
    assert {n.label for n in SCHEMA.nodes.values() if n.kgx_omit} == {"Outcome"}
    assert {r.type for r in SCHEMA.relationships.values() if r.kgx.omit} == {"HAD_OUTCOME"}
    assert all(n.biolink.startswith("biolink:") and n.local_id for n in kept)
    by_role = {t: {role: s.predicate for role, s in r.kgx.by_role.items()}
               for t, r in SCHEMA.relationships.items() if r.kgx.by_role}
    assert by_role == {"RECEIVED": {"exposure": "biolink:has_adverse_event", "treatment": "biolink:applied_to_treat"}}
    prefixes = {rule.prefix or "" for n in kept for rule in n.curies} - {""}
    assert prefixes | {"pmlkg", "biolink", "infores", "doi", "OMIM", "ORDO", "HGNC"} == set(SCHEMA.kgx.curie_map)


def _statements() -> dict[str, str]:
    from importlib.resources import files

    from pmlkg.graph.load import WRITE_STATEMENTS
    from pmlkg.graph.queries import CATALOGUE

    saved = files("pmlkg.graph.neo4j").joinpath("saved_queries.cypher").read_text(encoding="utf-8")
    return {**{f"catalogue:{n}": q.cypher for n, q in CATALOGUE.items()},
            **{f"load:{n}": c for n, c in WRITE_STATEMENTS.items()}, "saved_queries.cypher": saved}


def test_every_node_pattern_matches_on_the_schema_key() -> None:
    """``(x:Label {prop: ...})`` in any statement pmlkg sends names the label's key, so a key renamed
    in schema.yaml shows here at every place that still uses the old one."""
    import re

    pattern = re.compile(r"\(\w*:(\w+)\s*\{(\w+):")
    wrong, seen = [], 0
    for name, cypher in _statements().items():
        for label, prop in pattern.findall(cypher):
            seen += 1
            if label not in SCHEMA.nodes or prop != SCHEMA.key_of(label):
                wrong.append(f"{name}: ({label} {{{prop}: ...}})")
    assert wrong == []
    assert seen > 40  # the check saw the statements' node patterns
