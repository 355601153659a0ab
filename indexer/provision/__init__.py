"""Provisioning: ``graphdex plan | apply | status | destroy``.

An index is served by versions ``<index>-<n>`` behind two aliases: ``<index>`` (searches, exactly one
live version) and ``<index>-write`` (every version that must receive the daemon's writes). Each
version keeps its provisioning state in its mapping's ``_meta.graphdex`` (``versions``), so the
cluster itself says what is deployed.

    desired      what the definition generates (template, mappings, settings, topics, Avro subject)
    observed     what the search cluster holds (template, versions, aliases), read-only
    diff         live version vs definition: none, in place (new fields, dynamic settings) or new version
    planner      the ordered, idempotent steps that make them agree (pure)
    apply        runs the steps; refuses a plan with problems before changing anything
    dry_run      read-only client wrappers: ``plan`` rehearses the steps through them
    gates        count parity and a sampled field-by-field comparison before a cut-over
    status       versions, backfill progress, consumer lag, dead letters, live-schema drift
    destroy      removes the aliases, versions, template, topics, groups and subject
    provisioner  the composition root used by ``cli/provision.py``
"""

from indexer.provision.apply import ApplyReport
from indexer.provision.planner import ProvisionPlan
from indexer.provision.provisioner import Provisioner

__all__ = ["ApplyReport", "ProvisionPlan", "Provisioner"]
