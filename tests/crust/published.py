"""Published BSk24 ETFSI rows and the location of the full table (not a test module).

Published values: Pearson, Chamel, Potekhin, Fantina, Ducoin, Dutta & Goriely, MNRAS 481,
2994 (2018), BSk24 ETFSI inner-crust table, as distributed in jeromemargueron/nucleardatapy
(version-1.0/nucleardatapy/data/crust/2018-PCPFDDG-BSK24.dat, column map in
``crustsolve.crust.tables``). A few rows are embedded here (values as printed in the file); the
full table is never committed — ``examples/validate_etfsi_table.py`` reads it from a path.

Plain data rather than fixtures because ``parametrize`` and ``skipif`` need the values when the
tests are collected; the crust tests and ``tests/cli/test_layer.py`` import it explicitly.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Selected rows (0-based row index in the file). Keys follow crustsolve.crust.tables.COLUMNS.
PUBLISHED_ROWS = {
    0: dict(nbar=0.270000E-03, Z=40.0, N=0.974977E+02, A=0.137498E+03, R_cell=0.495390E+02,
            P=0.514144E-03, e_ETF=-.174260E+01, mu_p=-.247117E+02, mu_n=0.174517E+00,
            mu_e=0.261792E+02, a_p=0.432138E+00, C_p=0.557645E+01, a_n=0.637543E+00,
            C_n=0.579735E+01, n_lambda_p=0.521078E-01, n_lambda_n=0.101733E+00,
            n_B_p=0.231962E-08, n_B_n=0.101607E-04, Z_cl=0.399988E+02, N_cl=0.923236E+02),
    21: dict(nbar=0.320307E-02, Z=40.0, N=0.556831E+03, A=0.596831E+03, R_cell=0.354322E+02,
             P=0.442966E-02, e_ETF=0.145300E+01, mu_p=-.324675E+02, mu_n=0.283824E+01,
             mu_e=0.365987E+02, a_p=0.446734E+00, C_p=0.590660E+01, a_n=0.713695E+00,
             C_n=0.622839E+01, n_lambda_p=0.440201E-01, n_lambda_n=0.101828E+00,
             n_B_p=0.813474E-08, n_B_n=0.237138E-02, Z_cl=0.399985E+02, N_cl=0.114970E+03),
    30: dict(nbar=0.924569E-02, Z=40.0, N=0.797970E+03, A=0.837970E+03, R_cell=0.278655E+02,
             P=0.178562E-01, e_ETF=0.315785E+01, mu_p=-.401514E+02, mu_n=0.509068E+01,
             mu_e=0.465351E+02, a_p=0.475321E+00, C_p=0.630797E+01, a_n=0.801605E+00,
             C_n=0.672753E+01, n_lambda_p=0.362205E-01, n_lambda_n=0.977787E-01,
             n_B_p=0.243960E-07, n_B_n=0.726914E-02, Z_cl=0.399978E+02, N_cl=0.139142E+03),
    37: dict(nbar=0.210866E-01, Z=40.0, N=0.958004E+03, A=0.998004E+03, R_cell=0.224394E+02,
             P=0.499453E-01, e_ETF=0.490944E+01, mu_p=-.492144E+02, mu_n=0.727911E+01,
             mu_e=0.577865E+02, a_p=0.537367E+00, C_p=0.692298E+01, a_n=0.949794E+00,
             C_n=0.745779E+01, n_lambda_p=0.274217E-01, n_lambda_n=0.873514E-01,
             n_B_p=0.120444E-06, n_B_n=0.166768E-01, Z_cl=0.399943E+02, N_cl=0.168710E+03),
    40: dict(nbar=0.300237E-01, Z=40.0, N=0.103727E+04, A=0.107727E+04, R_cell=0.204608E+02,
             P=0.751939E-01, e_ETF=0.575665E+01, mu_p=-.538193E+02, mu_n=0.826190E+01,
             mu_e=0.633742E+02, a_p=0.594026E+00, C_p=0.735311E+01, a_n=0.105838E+01,
             C_n=0.793883E+01, n_lambda_p=0.228773E-01, n_lambda_n=0.787317E-01,
             n_B_p=0.274116E-06, n_B_n=0.238311E-01, Z_cl=0.399902E+02, N_cl=0.182197E+03),
    50: dict(nbar=0.665725E-01, Z=40.0, N=0.118886E+04, A=0.122886E+04, R_cell=0.163948E+02,
             P=0.203653E+00, e_ETF=0.786363E+01, mu_p=-.668774E+02, mu_n=0.109202E+02,
             mu_e=0.790906E+02, a_p=0.119539E+01, C_p=0.951418E+01, a_n=0.172642E+01,
             C_n=0.999866E+01, n_lambda_p=0.104324E-01, n_lambda_n=0.386119E-01,
             n_B_p=0.589245E-04, n_B_n=0.554514E-01, Z_cl=0.389123E+02, N_cl=0.165283E+03),
    60: dict(nbar=0.687285E-01, Z=58.0, N=0.171240E+04, A=0.177040E+04, R_cell=0.183210E+02,
             P=0.213574E+00, e_ETF=0.795922E+01, mu_p=-.677483E+02, mu_n=0.110658E+02,
             mu_e=0.801071E+02, a_p=0.122632E+01, C_p=0.113861E+02, a_n=0.172240E+01,
             C_n=0.118467E+02, n_lambda_p=0.893960E-02, n_lambda_n=0.343744E-01,
             n_B_p=0.654440E-04, n_B_n=0.571200E-01, Z_cl=0.563142E+02, N_cl=0.241028E+03),
}

#: The published table is never committed (CC BY-NC-ND 4.0): the tests that need it read it
#: from the directory named by CRUSTSOLVE_ETFSI_DIR (the unmodified nucleardatapy files) and
#: are skipped when the variable is not set or the file is not there.
ETFSI_DIR = os.environ.get("CRUSTSOLVE_ETFSI_DIR", "")
TABLE = Path(ETFSI_DIR, "2018-PCPFDDG-BSK24.dat") if ETFSI_DIR else None
HAVE_TABLE = TABLE is not None and TABLE.is_file()
