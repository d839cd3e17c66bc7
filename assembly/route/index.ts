// Routing exports (route table, matcher, weighted selection, endpoint balancer).
