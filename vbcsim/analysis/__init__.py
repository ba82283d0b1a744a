"""Analyses built on the engine: calibration of cost distributions to data, the credibility of
a shared-savings settlement by panel size, and solving for a contract term.

- :mod:`~vbcsim.analysis.calibrate`: fit distributions to claims or to a published summary;
- :mod:`~vbcsim.analysis.credibility`: chance settlement, minimum panel size, the implied MSR;
- :mod:`~vbcsim.analysis.solve`: root finding of one contract term for a party's target metric.
"""
