"""Payment-model contracts: how value-based arrangements move money between parties.

Each contract is a validated frozen dataclass that declares the statistics it
needs (:meth:`Contract.needs`) and settles them, vectorised over scenarios,
into flows between the parties ``payer``, ``provider``, ``enabler`` and
``reinsurer`` (:meth:`Contract.settle`), and the entities they own (:class:`Entity`: a
joint-venture plan, an MSO, a medical group, a platform), whose results pass to their owners.  An arrangement uses one base payment
(:class:`FeeForService` or :class:`Capitation`) plus any overlays.

Write your own with :class:`UserContract` (a numba-compiled settlement
function plus the attachments it needs) or by subclassing :class:`Contract`.
"""

from vbcsim.contracts.advance import AdvancePayment
from vbcsim.contracts.agreement import Agreement  # noqa: F401  (vbcsim.Agreement; not re-documented here)
from vbcsim.contracts.base import PARTIES, Contract, Needs, Settlement, SettlementContext, transfer
from vbcsim.contracts.bundled import BundledPayment
from vbcsim.contracts.capitation import PROFESSIONAL_SHARE, Capitation
from vbcsim.contracts.entities import ENTITIES, Entity
from vbcsim.contracts.fee_for_service import FeeForService
from vbcsim.contracts.fees import ManagementFee
from vbcsim.contracts.glide_path import GlidePath
from vbcsim.contracts.joint_venture import JointVenture
from vbcsim.contracts.mlr import MLRRebate
from vbcsim.contracts.pay_for_performance import PayForPerformance
from vbcsim.contracts.pooled import PooledSavings, SavingsPassThrough
from vbcsim.contracts.reference_pricing import ReferenceBasedPricing
from vbcsim.contracts.risk_corridor import ACO_REACH_GLOBAL_BANDS, ACO_REACH_PROFESSIONAL_BANDS, RiskCorridor
from vbcsim.contracts.shared_savings import SharedSavings, mssp_minimum_savings_rate
from vbcsim.contracts.start_up import StartUpCost
from vbcsim.contracts.stop_loss import AggregateStopLoss, SpecificStopLoss
from vbcsim.contracts.user import UserContract

__all__ = [
    "PARTIES",
    "Contract",
    "Needs",
    "Settlement",
    "SettlementContext",
    "transfer",
    "FeeForService",
    "PayForPerformance",
    "SharedSavings",
    "mssp_minimum_savings_rate",
    "Capitation",
    "PROFESSIONAL_SHARE",
    "SpecificStopLoss",
    "AggregateStopLoss",
    "RiskCorridor",
    "ACO_REACH_GLOBAL_BANDS",
    "ACO_REACH_PROFESSIONAL_BANDS",
    "BundledPayment",
    "MLRRebate",
    "UserContract",
    "ManagementFee",
    "PooledSavings",
    "SavingsPassThrough",
    "JointVenture",
    "ReferenceBasedPricing",
    "Entity",
    "ENTITIES",
    "AdvancePayment",
    "GlidePath",
    "StartUpCost",
]
