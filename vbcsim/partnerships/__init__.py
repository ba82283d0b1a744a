"""The five commercial payer-provider partnership models, as overridable presets.

Payer-provider partnerships in commercial risk come in five broad forms
(Advisory Board, "Deep dive: 5 partnership models in commercial risk", one of
the project's seed articles), one module each:

1. **custom risk-based contract** (:mod:`~vbcsim.partnerships.custom_contract`) —
   a bilateral contract negotiated between one payer and one provider;
2. **payer-branded value program** (:mod:`~vbcsim.partnerships.value_program`) —
   the payer's standard programme, open to many practices on the same terms;
3. **third party-mediated relationship** (:mod:`~vbcsim.partnerships.third_party`) —
   an enabler takes two-sided risk from the payer on a pool of practices;
4. **risk-bearing network collaboration** (:mod:`~vbcsim.partnerships.risk_network`) —
   a provider network takes a percent-of-premium global capitation;
5. **joint venture insurance product** (:mod:`~vbcsim.partnerships.joint_venture`) —
   payer and provider co-own an insurer.

Each model here is a parameter dataclass (:class:`CustomContract`,
:class:`ValueProgram`, :class:`ThirdParty`, :class:`RiskNetwork`,
:class:`JointVenture`) whose :meth:`~PartnershipModel.arrangement` builds the
:class:`vbcsim.Arrangement` for a population.  The defaults are starting points
chosen to be plausible for a commercial (employer-sponsored) panel, each
documented with its reasoning; they are not facts about any market, and every
one can be overridden::

    models = vbcsim.partnership_models(custom_contract={"sharing_rate": 0.6},
                                       risk_network={"percent_of_premium": 0.84})

What the models share is in :mod:`~vbcsim.partnerships.base`; the list of models and the
functions over all of them (:func:`partnership_models`, :func:`compare`,
:func:`settlement_curve`, :func:`resize`) are in :mod:`~vbcsim.partnerships.registry`.

Economic conventions shared by all five (see ``docs/architecture.md``):

- premium: the exact expected medical cost of the panel (with the mean of the
  systematic multiplier) over a target loss ratio of 85%, the large-group MLR
  minimum (45 CFR 158.210(a)) at which commercial plans typically price;
- administrative cost: 10% of premium, borne by the payer (commercial
  insurers' administrative expense typically runs at 10-12% of premium; the
  85% MLR floor leaves at most 15% for administration and margin);
- the provider's cost of delivering care: 85% of allowed cost, so fee for
  service leaves it a 15% margin on volume (``delivery_ratio``);
- each model carries an *efficiency effect*: the proportional reduction in
  medical cost its care model achieves, uncertain from year to year (drawn
  from a Beta distribution with the given mean and sd), and the cost of the
  care management that produces it.  Stronger incentives and more
  infrastructure are assumed to buy more efficiency, at a higher cost; the
  figures (2-6% of cost, $2-8 PMPM) are in the range that commercial ACO and
  capitation evaluations report, and are the first thing to replace with
  local evidence.
"""

from vbcsim.partnerships.base import DEFAULT_SCENARIO_RISK, PartnershipModel
from vbcsim.partnerships.base import expected_pmpm as expected_pmpm
from vbcsim.partnerships.custom_contract import CustomContract
from vbcsim.partnerships.direct_ownership import DirectOwnership
from vbcsim.partnerships.joint_venture import JointVenture
from vbcsim.partnerships.mso import MSOEnablement
from vbcsim.partnerships.platform import PlatformConvener
from vbcsim.partnerships.registry import (
    MODEL_KEYS,
    MODEL_NAMES,
    compare,
    partnership_models,
    resize,
    settlement_curve,
)
from vbcsim.partnerships.registry import _build as _build
from vbcsim.partnerships.registry import _check_population as _check_population
from vbcsim.partnerships.registry import _model_class as _model_class
from vbcsim.partnerships.risk_network import RiskNetwork
from vbcsim.partnerships.third_party import ThirdParty
from vbcsim.partnerships.value_program import ValueProgram

__all__ = [
    "MSOEnablement",
    "PlatformConvener",
    "DirectOwnership",
    "MODEL_KEYS",
    "MODEL_NAMES",
    "DEFAULT_SCENARIO_RISK",
    "PartnershipModel",
    "CustomContract",
    "ValueProgram",
    "ThirdParty",
    "RiskNetwork",
    "JointVenture",
    "partnership_models",
    "compare",
    "settlement_curve",
    "resize",
]

# The ``X as X`` imports above are outside ``__all__``: expected_pmpm, _build, _check_population and
# _model_class, which the analyses (credibility, solve) and the tests import from here.
