from django.shortcuts import render
from django.views.decorators.http import require_POST

from trials import selectors as trial_selectors

from .forms import SledaiAssessmentForm
from .models import SledaiAssessment


@require_POST
def sledai_totals(request, visit_pk):
    """htmx partial: the totals of the values on screen, through the same derive() as a save.
    Nothing is stored; invalid fields are left out of the computation and shown on save."""
    visit = trial_selectors.visit_for(request.user, visit_pk)
    form = SledaiAssessmentForm(
        request.POST, instance=SledaiAssessment(participant=visit.participant, visit=visit)
    )
    form.is_valid()
    assessment = form.instance
    assessment.derive()
    return render(request, "disease_activity/_sledai_totals.html", {"assessment": assessment, "live": True})
