"""`[tool.torchlane]`: the whole settings schema, one section per feature.

Each section is defined next to its feature (`<package>/settings.py`); this module only assembles
them. It is the one place where the core imports feature code, and only their settings modules.
"""

from __future__ import annotations

from torchlane.ci.settings import CiSettings
from torchlane.cluster.settings import ClusterConfig
from torchlane.config.section import Section
from torchlane.env.settings import EnvSpec
from torchlane.evaluate.settings import EvalConfig
from torchlane.flow.settings import BranchesConfig, FlowConfig, NamingConfig, PrefixesConfig
from torchlane.gate.settings import GateConfig
from torchlane.hooks.settings import HooksConfig
from torchlane.metrics.settings import MetricsConfig
from torchlane.models.settings import ModelsConfig
from torchlane.notebooks.settings import NotebooksConfig
from torchlane.repro.settings import ReproConfig
from torchlane.secrets.settings import SecretsConfig
from torchlane.team.settings import TeamConfig


class TorchlaneConfig(Section):
    branches: BranchesConfig = BranchesConfig()
    prefixes: PrefixesConfig = PrefixesConfig()
    naming: NamingConfig = NamingConfig()
    flow: FlowConfig = FlowConfig()
    env: EnvSpec = EnvSpec()
    ci: CiSettings = CiSettings()
    metrics: MetricsConfig = MetricsConfig()
    gate: GateConfig = GateConfig()
    notebooks: NotebooksConfig = NotebooksConfig()
    repro: ReproConfig = ReproConfig()
    hooks: HooksConfig = HooksConfig()
    secrets: SecretsConfig = SecretsConfig()
    cluster: ClusterConfig = ClusterConfig()
    team: TeamConfig = TeamConfig()
    eval: EvalConfig = EvalConfig()
    models: ModelsConfig = ModelsConfig()
