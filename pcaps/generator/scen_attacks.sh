scen_attacks() { :; }
